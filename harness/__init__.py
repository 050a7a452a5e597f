"""mtinit: build, boot and measure the multithreaded memory-init series."""
