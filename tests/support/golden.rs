//! Whether a golden-file test may rewrite its expected files.

/// `UPDATE_GOLDEN` is set: the test rewrites its goldens instead of comparing.
/// Refused when `CI` is set, so a pipeline can never bless its own output.
pub fn update() -> bool {
    let wanted = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty());
    assert!(
        !(wanted && std::env::var_os("CI").is_some_and(|v| !v.is_empty())),
        "UPDATE_GOLDEN is refused under CI: rewrite goldens locally and review the diff"
    );
    wanted
}
