"""For the operator: start-up checks, one-line operator errors, logging set-up, `ringcard doctor`."""
