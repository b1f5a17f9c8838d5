//! `Style`: the colours of human output (empty strings when colour is
//! off), shared by `print` and `print_agent`.

/// Colours for human output; all empty when colour is off.
pub struct Style {
    /// Titles (qualified names).
    pub bold: &'static str,
    /// Secondary text: kinds, edge types, "(shown above)".
    pub dim: &'static str,
    /// Locations (`path:line`).
    pub cyan: &'static str,
    /// Warnings: "(cycle)" marks, repaired records in `verify`.
    pub yellow: &'static str,
    /// Errors: the `kausal:` prefix, damage found by `verify`.
    pub red: &'static str,
    /// Ends any of the above.
    pub reset: &'static str,
}

impl Style {
    /// ANSI colours when `color` is true; empty strings otherwise.
    pub fn new(color: bool) -> Self {
        if color {
            Self {
                bold: "\x1b[1m",
                dim: "\x1b[2m",
                cyan: "\x1b[36m",
                yellow: "\x1b[33m",
                red: "\x1b[31m",
                reset: "\x1b[0m",
            }
        } else {
            Self {
                bold: "",
                dim: "",
                cyan: "",
                yellow: "",
                red: "",
                reset: "",
            }
        }
    }
}
