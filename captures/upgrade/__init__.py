"""Sample captures of TLS after a plaintext start (see generate.py)."""
