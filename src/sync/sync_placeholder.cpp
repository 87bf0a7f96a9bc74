namespace troupe { [[maybe_unused]] static int sync_placeholder = 0; }
