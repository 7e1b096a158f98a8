//! distcc's exit codes (src/exitcode.h; man distcc "EXIT CODES").

use std::fmt;

/// An exit code of distcc's own. The compiler's status is never converted into one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitCode {
    DistccFailed = 100,
    BadArguments = 101,
    BindFailed = 102,
    ConnectFailed = 103,
    CompilerCrashed = 104,
    OutOfMemory = 105,
    BadHostspec = 106,
    IoError = 107,
    Truncated = 108,
    ProtocolError = 109,
    CompilerMissing = 110,
    Recursion = 111,
    SetuidFailed = 112,
    AccessDenied = 113,
    Busy = 114,
    NoSuchFile = 115,
    NoHosts = 116,
    Gone = 117,
    Timeout = 118,
    GssapiFailed = 119,
    LocalCpp = 120,
}

impl ExitCode {
    /// The numeric process exit status.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// distcc's name for the code, as in the man page.
    pub fn name(self) -> &'static str {
        match self {
            ExitCode::DistccFailed => "DISTCC_FAILED",
            ExitCode::BadArguments => "BAD_ARGUMENTS",
            ExitCode::BindFailed => "BIND_FAILED",
            ExitCode::ConnectFailed => "CONNECT_FAILED",
            ExitCode::CompilerCrashed => "COMPILER_CRASHED",
            ExitCode::OutOfMemory => "OUT_OF_MEMORY",
            ExitCode::BadHostspec => "BAD_HOSTSPEC",
            ExitCode::IoError => "IO_ERROR",
            ExitCode::Truncated => "TRUNCATED",
            ExitCode::ProtocolError => "PROTOCOL_ERROR",
            ExitCode::CompilerMissing => "COMPILER_MISSING",
            ExitCode::Recursion => "RECURSION",
            ExitCode::SetuidFailed => "SETUID_FAILED",
            ExitCode::AccessDenied => "ACCESS_DENIED",
            ExitCode::Busy => "BUSY",
            ExitCode::NoSuchFile => "NO_SUCH_FILE",
            ExitCode::NoHosts => "NO_HOSTS",
            ExitCode::Gone => "GONE",
            ExitCode::Timeout => "TIMEOUT",
            ExitCode::GssapiFailed => "GSSAPI_FAILED",
            ExitCode::LocalCpp => "LOCAL_CPP",
        }
    }

    /// The code for a numeric status, if it is one of distcc's.
    pub fn from_code(code: i32) -> Option<ExitCode> {
        ALL.iter().copied().find(|c| c.code() == code)
    }
}

const ALL: [ExitCode; 21] = [
    ExitCode::DistccFailed,
    ExitCode::BadArguments,
    ExitCode::BindFailed,
    ExitCode::ConnectFailed,
    ExitCode::CompilerCrashed,
    ExitCode::OutOfMemory,
    ExitCode::BadHostspec,
    ExitCode::IoError,
    ExitCode::Truncated,
    ExitCode::ProtocolError,
    ExitCode::CompilerMissing,
    ExitCode::Recursion,
    ExitCode::SetuidFailed,
    ExitCode::AccessDenied,
    ExitCode::Busy,
    ExitCode::NoSuchFile,
    ExitCode::NoHosts,
    ExitCode::Gone,
    ExitCode::Timeout,
    ExitCode::GssapiFailed,
    ExitCode::LocalCpp,
];

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distccs_and_contiguous() {
        for (i, c) in ALL.iter().enumerate() {
            assert_eq!(c.code(), 100 + i as i32, "{c}");
            assert_eq!(ExitCode::from_code(c.code()), Some(*c));
        }
        assert_eq!(ExitCode::from_code(99), None);
        assert_eq!(ExitCode::from_code(121), None);
        assert_eq!(ExitCode::BadHostspec.code(), 106);
        assert_eq!(ExitCode::CompilerMissing.code(), 110);
    }
}
