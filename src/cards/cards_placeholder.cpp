namespace troupe { [[maybe_unused]] static int cards_placeholder = 0; }
