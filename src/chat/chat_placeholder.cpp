namespace troupe { [[maybe_unused]] static int chat_placeholder = 0; }
