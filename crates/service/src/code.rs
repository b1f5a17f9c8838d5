//! `ErrorCode`: the one list of stable error codes the CLI (`--json`
//! errors and exit status), the HTTP server (status) and the MCP tools
//! report. Each code states its HTTP status and exit status here, once;
//! an error that needs a finer status (a query error) says so itself.

use serde::{Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal, http $status:literal, exit $exit:literal;)*) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears in JSON (`not_found`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The HTTP status a server answers with.
            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// The `kausal` exit status: 1 when nothing was found, 2 for an error.
            pub fn exit_code(self) -> u8 {
                match self {
                    $(ErrorCode::$variant => $exit,)*
                }
            }

            /// The code named `name`, if it is one.
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name {
                    $($name => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// A name matched no block.
    NotFound = "not_found", http 404, exit 1;
    /// The query ran and found nothing (no callers, no path).
    NoResults = "no_results", http 404, exit 1;
    /// A name matched several blocks where one is needed.
    Ambiguous = "ambiguous", http 409, exit 2;
    /// Bad arguments.
    Usage = "usage", http 400, exit 2;
    /// A SCIP index given to `ingest --scip` that is missing, unreadable,
    /// over the size limit, or not a usable SCIP index.
    BadIndex = "bad_index", http 400, exit 2;
    /// No database where one was looked for.
    NoDatabase = "no_database", http 404, exit 2;
    /// Another process holds the database's write lock.
    Locked = "locked", http 500, exit 2;
    /// Stored bytes failed a checksum or a structural check.
    Corruption = "corruption", http 500, exit 2;
    /// A database of a format this kausal cannot read.
    UnsupportedFormat = "unsupported_format", http 500, exit 2;
    /// Any other storage failure.
    Storage = "storage", http 500, exit 2;
    /// The query engine failed.
    Query = "query", http 500, exit 2;
    /// An ingest failed.
    Ingest = "ingest", http 500, exit 2;
    /// A server could not start or stopped on an error; or answered what
    /// this kausal cannot read.
    Server = "server", http 500, exit 2;
    /// A file outside the database could not be read or written.
    Io = "io", http 500, exit 2;
    /// A request over a server's named limit (depth, results, page size).
    Limit = "limit", http 400, exit 2;
    /// A malformed request.
    BadRequest = "bad_request", http 400, exit 2;
    /// An MCP tool's arguments did not parse.
    BadArguments = "bad_arguments", http 400, exit 2;
    /// A page cursor the server did not give.
    BadCursor = "bad_cursor", http 400, exit 2;
    /// A request body over the size limit.
    TooLarge = "too_large", http 413, exit 2;
    /// A request body that is not JSON.
    UnsupportedMediaType = "unsupported_media_type", http 415, exit 2;
    /// No such endpoint.
    NoRoute = "no_route", http 404, exit 2;
    /// A missing or wrong bearer token.
    Unauthorized = "unauthorized", http 401, exit 2;
    /// Too many requests in flight.
    Busy = "busy", http 429, exit 2;
    /// Too many open connections.
    TooManyConnections = "too_many_connections", http 429, exit 2;
    /// The disk is full: writes stopped, reads go on.
    DiskFull = "disk_full", http 507, exit 2;
    /// The server is shutting down.
    ShuttingDown = "shutting_down", http 503, exit 2;
    /// The database was opened read-only.
    ReadOnly = "read_only", http 503, exit 2;
    /// A bug: a task failed.
    Internal = "internal", http 500, exit 2;
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_round_trips_by_name_and_only_not_found_kinds_exit_1() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(*code));
            let nothing_found = matches!(code, ErrorCode::NotFound | ErrorCode::NoResults);
            assert_eq!(code.exit_code() == 1, nothing_found, "{code}");
            assert!((400..600).contains(&code.http_status()), "{code}");
        }
        assert_eq!(ErrorCode::from_name("nonsense"), None);
    }
}
