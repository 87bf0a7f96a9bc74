namespace troupe { [[maybe_unused]] static int llm_placeholder = 0; }
