//! What the boundary needs from a backend's error object, and the argument errors it raises.

use std::fmt;

/// A backend's C error object (`DsError`, ...), as far as the shared machinery needs it.
///
/// The machinery creates errors in three situations only: a caught panic, an operation that
/// ended without a result, and a bad argument. Backends also implement
/// `From<ArgError> for Box<TheirError>`, so that `?` converts the [`ArgError`]s returned by
/// [`crate::strings`] and [`crate::handles`].
pub trait BoundaryError: Send + 'static {
    /// The error for a caught panic; `detail` says where and, if known, the panic message.
    fn panic(detail: &str) -> Box<Self>;
    /// The error for an unexpected internal condition.
    fn internal(detail: &str) -> Box<Self>;
    /// The error for an invalid argument.
    fn invalid_argument(error: ArgError) -> Box<Self>;
}

/// An invalid argument: `name` is the parameter (or option path), `problem` what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// The parameter or option the caller got wrong.
    pub name: String,
    /// What is wrong with it, e.g. "must not be NULL".
    pub problem: String,
}

impl ArgError {
    /// An argument error for `name`.
    pub fn new(name: &str, problem: impl fmt::Display) -> ArgError {
        ArgError {
            name: name.to_owned(),
            problem: problem.to_string(),
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.problem)
    }
}

impl std::error::Error for ArgError {}

#[cfg(test)]
pub(crate) mod test_error {
    //! A minimal error object for the crate's own tests.

    use super::{ArgError, BoundaryError};

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum TestError {
        Panic(String),
        Internal(String),
        Argument(String),
    }

    impl BoundaryError for TestError {
        fn panic(detail: &str) -> Box<Self> {
            Box::new(TestError::Panic(detail.to_owned()))
        }
        fn internal(detail: &str) -> Box<Self> {
            Box::new(TestError::Internal(detail.to_owned()))
        }
        fn invalid_argument(error: ArgError) -> Box<Self> {
            Box::new(TestError::Argument(error.to_string()))
        }
    }
}
