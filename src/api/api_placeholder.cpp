namespace troupe { [[maybe_unused]] static int api_placeholder = 0; }
