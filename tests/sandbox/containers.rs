//! The container backends (Docker, podman).
