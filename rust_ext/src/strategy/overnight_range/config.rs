//! `[strategies.overnight_range]` as the Rust strategy reads it: a JSON object whose decimals are
//! `Decimal` text (so "0.90" prints as "0.90" in a filter's sentence, as in Python). The session
//! times are the host's: they arrive already applied in each `TradingDay`.

use serde_json::{Map, Value};

use crate::strategy::dec::Dec;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub symbols: Vec<String>,
    pub quantity: i64,
    pub open_grace_minutes: i64,
    pub offset: Dec,
    pub atr_period: i64,
    pub stop_atr_mult: Dec,
    pub target_atrd_mult: Dec,
    pub min_stop_ticks: i64,
    pub cancel_opposite_on_fill: bool,
    pub breakeven_enabled: bool,
    pub breakeven_points: Dec,
    pub range_filter: bool,
    pub range_min: Dec,
    pub range_max: Dec,
    pub gap_filter: bool,
    pub gap_max: Dec,
    pub volatility_filter: bool,
    pub atr5_min: Dec,
    pub atr5_max: Dec,
    pub daily_loss_filter: bool,
    pub daily_loss_used_max: Dec,
    pub data_quality_filter: bool,
    pub data_quality_min: Dec,
    pub plausible_range_max: Dec,
}

fn field<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a Value, String> {
    m.get(key)
        .ok_or_else(|| format!("overnight_range config: {key} is missing"))
}

fn dec(m: &Map<String, Value>, key: &str) -> Result<Dec, String> {
    match field(m, key)? {
        Value::String(s) => {
            Dec::parse(s).map_err(|e| format!("overnight_range config: {key}: {e}"))
        }
        Value::Number(n) => Dec::parse(&n.to_string()),
        other => Err(format!(
            "overnight_range config: {key} must be a decimal, got {other}"
        )),
    }
}

fn int(m: &Map<String, Value>, key: &str) -> Result<i64, String> {
    field(m, key)?
        .as_i64()
        .ok_or_else(|| format!("overnight_range config: {key} must be an integer"))
}

fn flag(m: &Map<String, Value>, key: &str) -> Result<bool, String> {
    field(m, key)?
        .as_bool()
        .ok_or_else(|| format!("overnight_range config: {key} must be true or false"))
}

impl Config {
    pub fn from_json(text: &str) -> Result<Config, String> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("overnight_range config: {e}"))?;
        let m = v
            .as_object()
            .ok_or("overnight_range config must be an object")?;
        let symbols = field(m, "symbols")?
            .as_array()
            .ok_or("overnight_range config: symbols must be a list")?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or("overnight_range config: a symbol must be text")
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            symbols,
            quantity: int(m, "quantity")?,
            open_grace_minutes: int(m, "open_grace_minutes")?,
            offset: dec(m, "offset")?,
            atr_period: int(m, "atr_period")?,
            stop_atr_mult: dec(m, "stop_atr_mult")?,
            target_atrd_mult: dec(m, "target_atrd_mult")?,
            min_stop_ticks: int(m, "min_stop_ticks")?,
            cancel_opposite_on_fill: flag(m, "cancel_opposite_on_fill")?,
            breakeven_enabled: flag(m, "breakeven_enabled")?,
            breakeven_points: dec(m, "breakeven_points")?,
            range_filter: flag(m, "range_filter")?,
            range_min: dec(m, "range_min")?,
            range_max: dec(m, "range_max")?,
            gap_filter: flag(m, "gap_filter")?,
            gap_max: dec(m, "gap_max")?,
            volatility_filter: flag(m, "volatility_filter")?,
            atr5_min: dec(m, "atr5_min")?,
            atr5_max: dec(m, "atr5_max")?,
            daily_loss_filter: flag(m, "daily_loss_filter")?,
            daily_loss_used_max: dec(m, "daily_loss_used_max")?,
            data_quality_filter: flag(m, "data_quality_filter")?,
            data_quality_min: dec(m, "data_quality_min")?,
            plausible_range_max: dec(m, "plausible_range_max")?,
        })
    }
}
