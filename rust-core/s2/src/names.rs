//! S2's naming rules, checked on the caller's side before anything is sent (the C ABI reports
//! these synchronously).

use s2_sdk::types as sdk;

use crate::client::parse_name;
use crate::error::{Context, S2Error};

/// Checks a basin name: 8-48 lowercase letters, digits and hyphens, not starting or ending
/// with a hyphen.
pub fn check_basin(context: Context<'_>, name: &str) -> Result<(), S2Error> {
    parse_name::<sdk::BasinName>(context, "basin", name).map(drop)
}

/// Checks a stream name: 1-512 bytes, no NUL.
pub fn check_stream(context: Context<'_>, name: &str) -> Result<(), S2Error> {
    parse_name::<sdk::StreamName>(context, "stream", name).map(drop)
}

/// Checks an access token id.
pub fn check_token_id(context: Context<'_>, id: &str) -> Result<(), S2Error> {
    parse_name::<sdk::AccessTokenId>(context, "id", id).map(drop)
}

/// Checks a location name.
pub fn check_location(context: Context<'_>, name: &str) -> Result<(), S2Error> {
    parse_name::<sdk::LocationName>(context, "location", name).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn names_breaking_s2s_rules_are_refused_naming_the_parameter() {
        let context = Context::account("check");
        assert!(check_basin(context, "my-basin").is_ok());
        for bad in [
            "short",
            "Not_A_Basin",
            "-leading-hyphen",
            "trailing-hyphen-",
        ] {
            let error = check_basin(context, bad).expect_err(bad);
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            assert!(error.to_string().contains("basin"), "{error}");
        }
        assert!(check_stream(context, "orders/2026").is_ok());
        let error = check_stream(context, "").expect_err("empty");
        assert!(error.to_string().contains("stream"), "{error}");
        assert!(check_stream(context, "nul\0inside").is_err());
    }
}
