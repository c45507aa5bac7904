//! Usage metrics and locations, as JSON documents. `s2 lite` implements neither: every call
//! there fails with `S2_ERROR_NOT_SUPPORTED` (HTTP 501).

use std::ffi::{c_char, c_void};

use ffi_support::guard::catch;
use s2_streamstore_core::metrics::MetricsRequest;
use s2_streamstore_core::{Context, names};

use crate::callback::S2JsonCallback;
use crate::cancel::S2Cancel;
use crate::client::{S2Client, client_of, control};
use crate::strings;

/// Fetches an account metric set. `request_json`: `{"set": "active-basins" | "account-ops",
/// "start": unix_secs, "end": unix_secs, "interval": "minute" | "hour" | "day"?}` (`interval`
/// only for `account-ops`). Result: an array of metrics, each `{"scalar": {"name", "unit",
/// "value"}}`, `{"accumulation": {"name", "unit", "interval", "values": [[secs, value]]}}`,
/// `{"gauge": {"name", "unit", "values"}}` or `{"label": {"name", "values": [..]}}`; `unit`
/// is `"bytes"`, `"operations"` or `"usd"`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_account_metrics(
    client: *const S2Client,
    request_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("get account metrics", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            // SAFETY: forwarded to the caller.
            let request: MetricsRequest =
                unsafe { strings::required_json(request_json, "request_json") }?;
            Ok(async move { client.account_metrics(&request).await })
        })
    });
}

/// Fetches a basin metric set: `request_json` as for `s2_account_metrics` with `set` one of
/// `"storage"` (no interval), `"append-ops"`, `"read-ops"`, `"read-throughput"`,
/// `"append-throughput"`, `"basin-ops"`. Result as for `s2_account_metrics`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_basin_metrics(
    client: *const S2Client,
    basin: *const c_char,
    request_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("get basin metrics", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            // SAFETY: forwarded to the caller.
            let basin = unsafe { strings::required(basin, "basin") }?.to_owned();
            names::check_basin(Context::basin("get basin metrics", &basin), &basin)?;
            // SAFETY: forwarded to the caller.
            let request: MetricsRequest =
                unsafe { strings::required_json(request_json, "request_json") }?;
            Ok(async move { client.basin_metrics(&basin, &request).await })
        })
    });
}

/// Fetches a stream metric set: `request_json` as for `s2_account_metrics` with `set`
/// `"storage"` (no interval). Result as for `s2_account_metrics`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_metrics(
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
    request_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("get stream metrics", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            // SAFETY: forwarded to the caller.
            let basin = unsafe { strings::required(basin, "basin") }?.to_owned();
            // SAFETY: forwarded to the caller.
            let stream = unsafe { strings::required(stream, "stream") }?.to_owned();
            let context = Context::stream("get stream metrics", &basin, &stream);
            names::check_basin(context, &basin)?;
            names::check_stream(context, &stream)?;
            // SAFETY: forwarded to the caller.
            let request: MetricsRequest =
                unsafe { strings::required_json(request_json, "request_json") }?;
            Ok(async move { client.stream_metrics(&basin, &stream, &request).await })
        })
    });
}

/// Lists the locations the account can place basins in. Result: `[{"name", "is_private",
/// "storage_classes": [..]?, "default_storage_class"?}]`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_locations_list(
    client: *const S2Client,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("list locations", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            Ok(async move { client.list_locations().await })
        })
    });
}

/// The location new basins go to when they name none. Result: one location as for
/// `s2_locations_list`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_location_get_default(
    client: *const S2Client,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control(
            "get the default location",
            callback,
            user_data,
            cancel,
            || {
                // SAFETY: forwarded to the caller.
                let client = unsafe { client_of(client) }?.clone();
                Ok(async move { client.default_location().await })
            },
        )
    });
}

/// Makes `location` the default for new basins. Result: that location as for
/// `s2_locations_list`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_location_set_default(
    client: *const S2Client,
    location: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control(
            "set the default location",
            callback,
            user_data,
            cancel,
            || {
                // SAFETY: forwarded to the caller.
                let client = unsafe { client_of(client) }?.clone();
                // SAFETY: forwarded to the caller.
                let location = unsafe { strings::required(location, "location") }?.to_owned();
                names::check_location(Context::account("set the default location"), &location)?;
                Ok(async move { client.set_default_location(&location).await })
            },
        )
    });
}
