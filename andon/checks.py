"""System checks of the project (registered when the andon app is ready)."""
