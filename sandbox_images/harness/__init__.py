"""sandbox_images/harness package."""
