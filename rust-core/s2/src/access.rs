//! Access tokens: the JSON models of [`crate::model`] to and from the SDK's types.

use s2_sdk::types as sdk;

use crate::error::{Context, S2Error};
use crate::model::{
    AccessTokenInfo, AccessTokenRequest, AccessTokenScope, OperationGroups, ReadWrite, ResourceSet,
};

/// S2's operation names, in the snake_case its REST API uses.
const OPERATIONS: [(&str, sdk::Operation); 24] = [
    ("list_basins", sdk::Operation::ListBasins),
    ("create_basin", sdk::Operation::CreateBasin),
    ("get_basin_config", sdk::Operation::GetBasinConfig),
    ("delete_basin", sdk::Operation::DeleteBasin),
    ("reconfigure_basin", sdk::Operation::ReconfigureBasin),
    ("list_access_tokens", sdk::Operation::ListAccessTokens),
    ("issue_access_token", sdk::Operation::IssueAccessToken),
    ("revoke_access_token", sdk::Operation::RevokeAccessToken),
    ("get_account_metrics", sdk::Operation::GetAccountMetrics),
    ("get_basin_metrics", sdk::Operation::GetBasinMetrics),
    ("get_stream_metrics", sdk::Operation::GetStreamMetrics),
    ("list_streams", sdk::Operation::ListStreams),
    ("create_stream", sdk::Operation::CreateStream),
    ("get_stream_config", sdk::Operation::GetStreamConfig),
    ("delete_stream", sdk::Operation::DeleteStream),
    ("reconfigure_stream", sdk::Operation::ReconfigureStream),
    ("check_tail", sdk::Operation::CheckTail),
    ("append", sdk::Operation::Append),
    ("read", sdk::Operation::Read),
    ("trim", sdk::Operation::Trim),
    ("fence", sdk::Operation::Fence),
    ("list_locations", sdk::Operation::ListLocations),
    ("get_default_location", sdk::Operation::GetDefaultLocation),
    ("set_default_location", sdk::Operation::SetDefaultLocation),
];

fn operation(context: Context<'_>, index: usize, name: &str) -> Result<sdk::Operation, S2Error> {
    OPERATIONS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, op)| *op)
        .ok_or_else(|| {
            S2Error::invalid_argument(
                context,
                &format!("scope.ops[{index}]"),
                format!("unknown operation {name:?}"),
            )
        })
}

fn operation_name(op: &sdk::Operation) -> String {
    OPERATIONS
        .iter()
        .find(|(_, known)| known == op)
        .map_or_else(|| format!("{op:?}"), |(name, _)| (*name).to_owned())
}

/// Parses a name of type `T`, naming `parameter` when it is invalid.
fn parse<T: std::str::FromStr>(
    context: Context<'_>,
    parameter: &str,
    text: &str,
) -> Result<T, S2Error>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| S2Error::invalid_argument(context, parameter, e))
}

fn read_write(rw: ReadWrite) -> sdk::ReadWritePermissions {
    let mut permissions = sdk::ReadWritePermissions::new();
    permissions.read = rw.read;
    permissions.write = rw.write;
    permissions
}

/// The SDK's issue input for `request`, every name checked.
pub(crate) fn issue_input(
    context: Context<'_>,
    request: &AccessTokenRequest,
) -> Result<sdk::IssueAccessTokenInput, S2Error> {
    let scope = &request.scope;
    let ops = scope
        .ops
        .iter()
        .enumerate()
        .map(|(i, name)| operation(context, i, name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut input = sdk::AccessTokenScopeInput::from_ops(ops);
    if let Some(groups) = scope.op_groups {
        let mut perms = sdk::OperationGroupPermissions::new();
        if let Some(rw) = groups.account {
            perms = perms.with_account(read_write(rw));
        }
        if let Some(rw) = groups.basin {
            perms = perms.with_basin(read_write(rw));
        }
        if let Some(rw) = groups.stream {
            perms = perms.with_stream(read_write(rw));
        }
        input = input.with_op_group_perms(perms);
    }
    if let Some(set) = &scope.basins {
        input = input.with_basins(match set {
            ResourceSet::Exact(name) if name.is_empty() => sdk::BasinMatcher::None,
            ResourceSet::Exact(name) => {
                sdk::BasinMatcher::Exact(parse(context, "scope.basins.exact", name)?)
            }
            ResourceSet::Prefix(prefix) => {
                sdk::BasinMatcher::Prefix(parse(context, "scope.basins.prefix", prefix)?)
            }
        });
    }
    if let Some(set) = &scope.streams {
        input = input.with_streams(match set {
            ResourceSet::Exact(name) if name.is_empty() => sdk::StreamMatcher::None,
            ResourceSet::Exact(name) => {
                sdk::StreamMatcher::Exact(parse(context, "scope.streams.exact", name)?)
            }
            ResourceSet::Prefix(prefix) => {
                sdk::StreamMatcher::Prefix(parse(context, "scope.streams.prefix", prefix)?)
            }
        });
    }
    if let Some(set) = &scope.access_tokens {
        input = input.with_access_tokens(match set {
            ResourceSet::Exact(name) if name.is_empty() => sdk::AccessTokenMatcher::None,
            ResourceSet::Exact(name) => {
                sdk::AccessTokenMatcher::Exact(parse(context, "scope.access_tokens.exact", name)?)
            }
            ResourceSet::Prefix(prefix) => sdk::AccessTokenMatcher::Prefix(parse(
                context,
                "scope.access_tokens.prefix",
                prefix,
            )?),
        });
    }
    let id: sdk::AccessTokenId = parse(context, "id", &request.id)?;
    let mut issue = sdk::IssueAccessTokenInput::new(id, input)
        .with_auto_prefix_streams(request.auto_prefix_streams);
    if let Some(expires_at) = &request.expires_at {
        issue = issue.with_expires_at(parse(context, "expires_at", expires_at)?);
    }
    Ok(issue)
}

fn resource_set<N: ToString, P: ToString>(exact: Option<N>, prefix: Option<P>) -> ResourceSet {
    match (exact, prefix) {
        (Some(name), _) => ResourceSet::Exact(name.to_string()),
        (None, Some(prefix)) => ResourceSet::Prefix(prefix.to_string()),
        (None, None) => ResourceSet::Exact(String::new()),
    }
}

fn scope_from_sdk(scope: &sdk::AccessTokenScope) -> AccessTokenScope {
    let mut ops: Vec<String> = scope.ops.iter().map(operation_name).collect();
    ops.sort();
    let rw = |p: &sdk::ReadWritePermissions| ReadWrite {
        read: p.read,
        write: p.write,
    };
    AccessTokenScope {
        basins: scope.basins.as_ref().map(|m| match m {
            sdk::BasinMatcher::None => resource_set::<String, String>(None, None),
            sdk::BasinMatcher::Exact(name) => resource_set::<_, String>(Some(name), None),
            sdk::BasinMatcher::Prefix(prefix) => resource_set::<String, _>(None, Some(prefix)),
        }),
        streams: scope.streams.as_ref().map(|m| match m {
            sdk::StreamMatcher::None => resource_set::<String, String>(None, None),
            sdk::StreamMatcher::Exact(name) => resource_set::<_, String>(Some(name), None),
            sdk::StreamMatcher::Prefix(prefix) => resource_set::<String, _>(None, Some(prefix)),
        }),
        access_tokens: scope.access_tokens.as_ref().map(|m| match m {
            sdk::AccessTokenMatcher::None => resource_set::<String, String>(None, None),
            sdk::AccessTokenMatcher::Exact(name) => resource_set::<_, String>(Some(name), None),
            sdk::AccessTokenMatcher::Prefix(prefix) => {
                resource_set::<String, _>(None, Some(prefix))
            }
        }),
        op_groups: scope.op_group_perms.as_ref().map(|groups| OperationGroups {
            account: groups.account.as_ref().map(rw),
            basin: groups.basin.as_ref().map(rw),
            stream: groups.stream.as_ref().map(rw),
        }),
        ops,
    }
}

impl From<sdk::AccessTokenInfo> for AccessTokenInfo {
    fn from(info: sdk::AccessTokenInfo) -> AccessTokenInfo {
        AccessTokenInfo {
            id: info.id.to_string(),
            expires_at: info.expires_at.map(|e| e.to_string()),
            auto_prefix_streams: info.auto_prefix_streams,
            scope: scope_from_sdk(&info.scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_name_round_trips() {
        for (name, op) in OPERATIONS {
            assert_eq!(operation_name(&op), name);
        }
    }

    #[test]
    fn bad_scopes_name_the_field() {
        let request: AccessTokenRequest =
            serde_json::from_str(r#"{"id":"ci-token","scope":{"ops":["append","teleport"]}}"#)
                .expect("valid JSON");
        let error = issue_input(Context::account("issue access token"), &request)
            .expect_err("unknown operation");
        assert!(error.to_string().contains("scope.ops[1]"), "{error}");
        let request: AccessTokenRequest =
            serde_json::from_str(r#"{"id":"ci-token","scope":{"basins":{"exact":"UPPER"}}}"#)
                .expect("valid JSON");
        let error = issue_input(Context::account("issue access token"), &request)
            .expect_err("invalid basin name");
        assert!(error.to_string().contains("scope.basins.exact"), "{error}");
    }
}
