namespace troupe { [[maybe_unused]] static int server_placeholder = 0; }
