namespace troupe { [[maybe_unused]] static int store_placeholder = 0; }
