"""sandbox_images package."""
