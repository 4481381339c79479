//! What judges a version while traffic moves to it: its own metrics under the alias (Lambda's
//! `FunctionName` + `Resource` = `function:alias` + `ExecutedVersion` dimensions, which only
//! invocations of that version through that alias carry, so an error of the old version never
//! counts), and the alarms the team names (metric or composite; each must exist).

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, StateValue, Statistic};

use super::lambda::{explain, Session};
use super::DeployRefusal;
use crate::runner::outcome::Outcome;

/// What the new version did through the alias since a moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Health {
    pub invocations: f64,
    pub errors: f64,
}

/// Every named alarm must exist (as a metric or a composite alarm): a misspelt name would
/// leave the canary watched by nothing. Returns those in ALARM now.
pub(super) async fn check_named(
    session: &mut Session<'_>,
    alarms: &[String],
) -> Outcome<Vec<String>> {
    if alarms.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut firing = Vec::new();
    // DescribeAlarms takes at most 100 names a call.
    for names in alarms.chunks(100) {
        let call = session
            .clients
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send();
        let answer = session
            .clock
            .api("DescribeAlarms", call)
            .await
            .map_err(|e| explain("DescribeAlarms", session.target.function_name(), e))?;
        let states = answer
            .metric_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value()))
            .chain(
                answer
                    .composite_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value())),
            );
        for (name, state) in states {
            let Some(name) = name else { continue };
            found.push(name.to_string());
            if state == Some(&StateValue::Alarm) {
                firing.push(name.to_string());
            }
        }
    }
    let missing: Vec<String> = alarms
        .iter()
        .filter(|name| !found.contains(name))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(DeployRefusal::UnknownAlarms {
            missing,
            region: session
                .target
                .region
                .clone()
                .unwrap_or_else(|| "the configured region".into()),
        }
        .into());
    }
    Ok(firing)
}

/// The new version's invocations and errors through the alias since `since`, by one-minute
/// sums (what Lambda publishes; its metrics arrive a minute or two late, so a bake shorter than
/// a few minutes sees little of them).
pub(super) async fn health(
    session: &mut Session<'_>,
    version: &str,
    since: SystemTime,
) -> anyhow::Result<Health> {
    let name = session.target.function_name().to_string();
    let dimensions = [
        ("FunctionName", name.clone()),
        ("Resource", format!("{name}:{}", session.target.alias)),
        ("ExecutedVersion", version.to_string()),
    ];
    // Whole minutes around the window: a datapoint is stamped with its minute's start.
    let start = since - Duration::from_secs(60);
    let end = SystemTime::now() + Duration::from_secs(60);
    let mut health = Health::default();
    for (metric, into) in [
        ("Invocations", &mut health.invocations),
        ("Errors", &mut health.errors),
    ] {
        let mut call = session
            .clients
            .cloudwatch
            .get_metric_statistics()
            .namespace("AWS/Lambda")
            .metric_name(metric)
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(end))
            .period(60)
            .statistics(Statistic::Sum);
        for (name, value) in &dimensions {
            call = call.dimensions(Dimension::builder().name(*name).value(value).build());
        }
        let answer = session
            .clock
            .api("GetMetricStatistics", call.send())
            .await
            .map_err(|e| explain("GetMetricStatistics", &name, e))?;
        *into = answer.datapoints().iter().filter_map(|d| d.sum()).sum();
    }
    Ok(health)
}
