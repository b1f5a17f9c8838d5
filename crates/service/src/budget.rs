//! The token budget `context` and `map` pack their answers into: one
//! approximation of an LLM tokenizer ([`tokens`]: bytes / 4, rounded up),
//! the default and the largest budget, and [`Budget`], the greedy packer
//! both use. The approximation is deliberately crude and documented, so
//! a client can recompute it: real tokenizers average 3.5 to 4.5 bytes a
//! token on source code, and no one tokenizer fits every model.

/// Bytes counted as one token by [`tokens`].
pub const BYTES_PER_TOKEN: usize = 4;
/// Budget of `context` and `map` when none is given, in tokens.
pub const DEFAULT_BUDGET: usize = 4000;
/// Largest budget `context` and `map` accept, in tokens (checked where
/// the arguments are, before anything is read).
pub const MAX_BUDGET: usize = 100_000;

/// Tokens `text` counts as: its UTF-8 bytes divided by
/// [`BYTES_PER_TOKEN`], rounded up (0 for the empty string).
pub fn tokens(text: &str) -> usize {
    text.len().div_ceil(BYTES_PER_TOKEN)
}

/// Checks a budget argument: 1 to [`MAX_BUDGET`].
pub fn check_budget(budget: usize) -> Result<(), crate::ServiceError> {
    if budget == 0 || budget > MAX_BUDGET {
        return Err(crate::ServiceError::Usage(format!(
            "--budget must be between 1 and {MAX_BUDGET} tokens"
        )));
    }
    Ok(())
}

/// A budget being spent greedily: items are offered in priority order and
/// each is taken if it still fits, else left out (and counted), so a
/// large item never blocks smaller ones after it. What is taken never
/// exceeds the limit, in [`tokens`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limit: usize,
    used: usize,
}

impl Budget {
    /// A budget of `limit` tokens, none spent.
    pub fn new(limit: usize) -> Self {
        Self { limit, used: 0 }
    }

    /// Takes `cost` tokens if they fit; false (nothing taken) otherwise.
    pub fn take(&mut self, cost: usize) -> bool {
        match self.used.checked_add(cost) {
            Some(total) if total <= self.limit => {
                self.used = total;
                true
            }
            _ => false,
        }
    }

    /// Tokens spent.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Tokens left.
    pub fn left(&self) -> usize {
        self.limit - self.used
    }

    /// The budget's limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// The longest prefix of whole lines of `text` that costs at most
/// `budget` tokens; `text` itself when it fits. Used for a source too
/// long for the budget: cut at a line, never inside one.
pub fn fit_lines(text: &str, budget: usize) -> &str {
    if tokens(text) <= budget {
        return text;
    }
    let max_bytes = budget.saturating_mul(BYTES_PER_TOKEN);
    let mut end = 0;
    for (at, _) in text.match_indices('\n') {
        if at + 1 > max_bytes {
            break;
        }
        end = at + 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bytes_over_four_rounded_up() {
        assert_eq!(tokens(""), 0);
        assert_eq!(tokens("a"), 1);
        assert_eq!(tokens("abcd"), 1);
        assert_eq!(tokens("abcde"), 2);
        // Bytes, not characters: "é" is two bytes.
        assert_eq!(tokens("éé"), 1);
        assert_eq!(tokens("ééé"), 2);
    }

    #[test]
    fn the_budget_is_never_exceeded_and_small_items_pass_a_large_one() {
        let mut budget = Budget::new(10);
        assert!(budget.take(6));
        assert!(!budget.take(5), "6 + 5 > 10");
        assert_eq!(budget.used(), 6, "a refused item takes nothing");
        assert!(budget.take(4), "a later, smaller item still fits");
        assert_eq!((budget.used(), budget.left()), (10, 0));
        assert!(!budget.take(1));
        assert!(budget.take(0));
        assert!(!budget.take(usize::MAX), "no overflow");
    }

    #[test]
    fn budgets_out_of_range_are_usage_errors() {
        assert!(check_budget(0).is_err());
        assert!(check_budget(1).is_ok());
        assert!(check_budget(MAX_BUDGET).is_ok());
        assert!(check_budget(MAX_BUDGET + 1).is_err());
    }

    #[test]
    fn long_text_is_cut_at_a_whole_line_within_the_budget() {
        let text = "fn a() {\n    b();\n}\n";
        assert_eq!(fit_lines(text, 100), text);
        assert_eq!(fit_lines(text, 3), "fn a() {\n");
        assert!(tokens(fit_lines(text, 3)) <= 3);
        assert_eq!(fit_lines(text, 1), "");
        assert_eq!(fit_lines(text, 5), text, "20 bytes are 5 tokens");
        assert_eq!(fit_lines(text, 4), "fn a() {\n");
    }
}
