//! Usage metrics (account, basin and stream metric sets) and locations, in S2's REST shapes.
//! `s2 lite` implements neither: its 501 is [`crate::ErrorKind::NotSupported`].

use s2_sdk::types as sdk;
use serde::{Deserialize, Serialize};

use crate::client::{S2Client, parse_name};
use crate::error::{Context, S2Error};

/// Which metric set to fetch, over which time range.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsRequest {
    /// The set, in S2's names: account `"active-basins"`, `"account-ops"`; basin `"storage"`,
    /// `"append-ops"`, `"read-ops"`, `"read-throughput"`, `"append-throughput"`,
    /// `"basin-ops"`; stream `"storage"`.
    pub set: String,
    /// Start of the range, Unix seconds (inclusive).
    pub start: u32,
    /// End of the range, Unix seconds (exclusive).
    pub end: u32,
    /// `"minute"`, `"hour"` or `"day"` for the timeseries sets (default: the set's own).
    #[serde(default)]
    pub interval: Option<String>,
}

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricUnit {
    /// Bytes.
    Bytes,
    /// Operations.
    Operations,
    /// US dollars.
    Usd,
}

/// One metric of a set, tagged by its kind as S2's REST API tags it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// A single named value.
    Scalar {
        /// Its name.
        name: String,
        /// Its unit.
        unit: MetricUnit,
        /// The value.
        value: f64,
    },
    /// `(timestamp, value)` points, each accumulated over one `interval` from its timestamp.
    Accumulation {
        /// Its name.
        name: String,
        /// Its unit.
        unit: MetricUnit,
        /// `"minute"`, `"hour"` or `"day"`.
        interval: &'static str,
        /// `[unix seconds, value]` points.
        values: Vec<(u32, f64)>,
    },
    /// `(timestamp, value)` points, each an instantaneous value.
    Gauge {
        /// Its name.
        name: String,
        /// Its unit.
        unit: MetricUnit,
        /// `[unix seconds, value]` points.
        values: Vec<(u32, f64)>,
    },
    /// A set of labels.
    Label {
        /// Its name.
        name: String,
        /// The labels.
        values: Vec<String>,
    },
}

/// A location an account can place basins in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocationInfo {
    /// Its name.
    pub name: String,
    /// Whether it is a private placement of this account.
    pub is_private: bool,
    /// The storage classes available there.
    pub storage_classes: Option<Vec<String>>,
    /// The default storage class there.
    pub default_storage_class: Option<String>,
}

fn unit(unit: sdk::MetricUnit) -> MetricUnit {
    match unit {
        sdk::MetricUnit::Bytes => MetricUnit::Bytes,
        sdk::MetricUnit::Operations => MetricUnit::Operations,
        sdk::MetricUnit::Usd => MetricUnit::Usd,
    }
}

fn interval_name(interval: sdk::TimeseriesInterval) -> &'static str {
    match interval {
        sdk::TimeseriesInterval::Minute => "minute",
        sdk::TimeseriesInterval::Hour => "hour",
        sdk::TimeseriesInterval::Day => "day",
    }
}

impl From<sdk::Metric> for Metric {
    fn from(metric: sdk::Metric) -> Metric {
        match metric {
            sdk::Metric::Scalar(m) => Metric::Scalar {
                name: m.name,
                unit: unit(m.unit),
                value: m.value,
            },
            sdk::Metric::Accumulation(m) => Metric::Accumulation {
                name: m.name,
                unit: unit(m.unit),
                interval: interval_name(m.interval),
                values: m.values,
            },
            sdk::Metric::Gauge(m) => Metric::Gauge {
                name: m.name,
                unit: unit(m.unit),
                values: m.values,
            },
            sdk::Metric::Label(m) => Metric::Label {
                name: m.name,
                values: m.values,
            },
        }
    }
}

impl From<sdk::LocationInfo> for LocationInfo {
    fn from(info: sdk::LocationInfo) -> LocationInfo {
        LocationInfo {
            name: info.name.to_string(),
            is_private: info.is_private,
            storage_classes: info
                .storage_classes
                .map(|classes| classes.into_iter().map(|c| c.to_string()).collect()),
            default_storage_class: info.default_storage_class.map(|c| c.to_string()),
        }
    }
}

impl MetricsRequest {
    fn range(&self, context: Context<'_>) -> Result<sdk::TimeRange, S2Error> {
        if self.start >= self.end {
            return Err(S2Error::invalid_argument(
                context,
                "end",
                format!("must be after start ({} >= {})", self.start, self.end),
            ));
        }
        Ok(sdk::TimeRange::new(self.start, self.end))
    }

    fn range_and_interval(
        &self,
        context: Context<'_>,
    ) -> Result<sdk::TimeRangeAndInterval, S2Error> {
        let range = self.range(context)?;
        let with = sdk::TimeRangeAndInterval::new(range.start, range.end);
        Ok(match self.interval.as_deref() {
            None => with,
            Some("minute") => with.with_interval(sdk::TimeseriesInterval::Minute),
            Some("hour") => with.with_interval(sdk::TimeseriesInterval::Hour),
            Some("day") => with.with_interval(sdk::TimeseriesInterval::Day),
            Some(other) => {
                return Err(S2Error::invalid_argument(
                    context,
                    "interval",
                    format!("{other:?} is not one of \"minute\", \"hour\", \"day\""),
                ));
            }
        })
    }

    fn no_interval(&self, context: Context<'_>) -> Result<sdk::TimeRange, S2Error> {
        if self.interval.is_some() {
            return Err(S2Error::invalid_argument(
                context,
                "interval",
                format!("the {:?} set takes no interval", self.set),
            ));
        }
        self.range(context)
    }

    fn unknown_set(&self, context: Context<'_>, known: &str) -> S2Error {
        S2Error::invalid_argument(
            context,
            "set",
            format!("{:?} is not one of {known}", self.set),
        )
    }

    fn account_set(&self, context: Context<'_>) -> Result<sdk::AccountMetricSet, S2Error> {
        Ok(match self.set.as_str() {
            "active-basins" => sdk::AccountMetricSet::ActiveBasins(self.no_interval(context)?),
            "account-ops" => sdk::AccountMetricSet::AccountOps(self.range_and_interval(context)?),
            _ => return Err(self.unknown_set(context, "\"active-basins\", \"account-ops\"")),
        })
    }

    fn basin_set(&self, context: Context<'_>) -> Result<sdk::BasinMetricSet, S2Error> {
        use sdk::BasinMetricSet as Set;
        Ok(match self.set.as_str() {
            "storage" => Set::Storage(self.no_interval(context)?),
            "append-ops" => Set::AppendOps(self.range_and_interval(context)?),
            "read-ops" => Set::ReadOps(self.range_and_interval(context)?),
            "read-throughput" => Set::ReadThroughput(self.range_and_interval(context)?),
            "append-throughput" => Set::AppendThroughput(self.range_and_interval(context)?),
            "basin-ops" => Set::BasinOps(self.range_and_interval(context)?),
            _ => {
                return Err(self.unknown_set(
                    context,
                    "\"storage\", \"append-ops\", \"read-ops\", \"read-throughput\", \
                     \"append-throughput\", \"basin-ops\"",
                ));
            }
        })
    }

    fn stream_set(&self, context: Context<'_>) -> Result<sdk::StreamMetricSet, S2Error> {
        match self.set.as_str() {
            "storage" => Ok(sdk::StreamMetricSet::Storage(self.no_interval(context)?)),
            _ => Err(self.unknown_set(context, "\"storage\"")),
        }
    }
}

impl S2Client {
    /// An account metric set.
    pub async fn account_metrics(&self, request: &MetricsRequest) -> Result<Vec<Metric>, S2Error> {
        let context = Context::account("get account metrics");
        let input = sdk::GetAccountMetricsInput::new(request.account_set(context)?);
        let metrics = self
            .sdk()
            .get_account_metrics(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(metrics.into_iter().map(Into::into).collect())
    }

    /// A basin metric set.
    pub async fn basin_metrics(
        &self,
        basin: &str,
        request: &MetricsRequest,
    ) -> Result<Vec<Metric>, S2Error> {
        let context = Context::basin("get basin metrics", basin);
        let input = sdk::GetBasinMetricsInput::new(
            parse_name(context, "basin", basin)?,
            request.basin_set(context)?,
        );
        let metrics = self
            .sdk()
            .get_basin_metrics(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(metrics.into_iter().map(Into::into).collect())
    }

    /// A stream metric set.
    pub async fn stream_metrics(
        &self,
        basin: &str,
        stream: &str,
        request: &MetricsRequest,
    ) -> Result<Vec<Metric>, S2Error> {
        let context = Context::stream("get stream metrics", basin, stream);
        let input = sdk::GetStreamMetricsInput::new(
            parse_name(context, "basin", basin)?,
            parse_name(context, "stream", stream)?,
            request.stream_set(context)?,
        );
        let metrics = self
            .sdk()
            .get_stream_metrics(input)
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(metrics.into_iter().map(Into::into).collect())
    }

    /// The locations the account can place basins in.
    pub async fn list_locations(&self) -> Result<Vec<LocationInfo>, S2Error> {
        let context = Context::account("list locations");
        let locations = self
            .sdk()
            .list_locations()
            .await
            .map_err(|e| S2Error::from_request(context, &e))?;
        Ok(locations.into_iter().map(Into::into).collect())
    }

    /// The location new basins go to when they name none.
    pub async fn default_location(&self) -> Result<LocationInfo, S2Error> {
        let context = Context::account("get the default location");
        self.sdk()
            .get_default_location()
            .await
            .map(Into::into)
            .map_err(|e| S2Error::from_request(context, &e))
    }

    /// Makes `location` the default for new basins; returns it.
    pub async fn set_default_location(&self, location: &str) -> Result<LocationInfo, S2Error> {
        let context = Context::account("set the default location");
        let name: sdk::LocationName = parse_name(context, "location", location)?;
        self.sdk()
            .set_default_location(name)
            .await
            .map(Into::into)
            .map_err(|e| S2Error::from_request(context, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn request(set: &str, interval: Option<&str>) -> MetricsRequest {
        MetricsRequest {
            set: set.into(),
            start: 100,
            end: 200,
            interval: interval.map(Into::into),
        }
    }

    #[test]
    fn metric_sets_are_checked_and_named() {
        let context = Context::account("get account metrics");
        assert!(
            request("account-ops", Some("day"))
                .account_set(context)
                .is_ok()
        );
        let error = request("storage", None)
            .account_set(context)
            .expect_err("not an account set");
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert!(error.to_string().contains("set"), "{error}");
        let error = request("active-basins", Some("hour"))
            .account_set(context)
            .expect_err("takes no interval");
        assert!(error.to_string().contains("interval"), "{error}");
        let error = request("basin-ops", Some("week"))
            .basin_set(context)
            .expect_err("unknown interval");
        assert!(error.to_string().contains("week"), "{error}");
        let backwards = MetricsRequest {
            start: 200,
            end: 100,
            ..request("storage", None)
        };
        let error = backwards.stream_set(context).expect_err("empty range");
        assert!(error.to_string().contains("end"), "{error}");
    }

    #[test]
    fn metrics_serialise_in_the_rest_shape() {
        let metric = Metric::Gauge {
            name: "storage".into(),
            unit: MetricUnit::Bytes,
            values: vec![(100, 5.0)],
        };
        assert_eq!(
            serde_json::to_string(&metric).expect("JSON"),
            r#"{"gauge":{"name":"storage","unit":"bytes","values":[[100,5.0]]}}"#
        );
    }
}
