//! The overnight-range breakout (/work/shared/overnight-range.md) on the Rust core, rule for rule
//! the Python `trading/strategies/overnight_range.py` (its spec choices hold here too): same
//! levels, filters, entries, brackets, entry OCO, no chase, breakeven, flatten and day state.
//!
//! Choices of this port: the exchange calendar (sessions, holidays, expected minutes) stays in
//! Python (the spec asks for a maintained calendar package): the host hands the sessions before
//! the day and the previous trading day's RTH hours in the `TradingDay`, and answers
//! `open_minutes`; the New York wall-clock times of ATR5 (08:15, the card's 08:10) come from the
//! crate's zone table.
//!
//! Longer than 500 lines on purpose, like its Python twin: one strategy in the Python file's order
//! (levels, card, open, entries, OCO, flatten, summary, orders and fills, breakeven), so the two read
//! side by side; the maths (`levels.rs`), settings (`config.rs`) and state (`state.rs`) are apart.

pub mod config;
pub mod levels;
pub mod state;

use crate::bars::zone::Zone;
use crate::common::time::days_from_civil;
use crate::strategy::dec::Dec;
use crate::strategy::json::{text, OrderedMap};
use crate::strategy::{
    Context, Notice, OrderKind, OrderView, PlaceRequest, SessionEvent, Side, Strategy, TradeRow,
    TradingDay,
};

use config::Config;
use levels::{bracket_ticks, entry_levels, filters, LevelInputs, Levels};
use state::{DayState, SidePlan, SideState, SymbolDay};

pub const NAME: &str = "overnight_range";
const NS: i64 = 1_000_000_000;
const MINUTE: i64 = 60 * NS;
const DAY: i64 = 86_400 * NS;
const ATR5_FROM: (i64, i64) = (8, 15);
const ATR5_PROVISIONAL_FROM: (i64, i64) = (8, 10);

pub fn custom_tag(symbol: &str, side: Side, date: &str) -> String {
    let s = if side == Side::Buy { "long" } else { "short" };
    format!("{NAME}:{symbol}:{s}:{date}")
}

/// `str(timedelta)`: "0:06:00", "1 day, 2:03:04", "0:00:01.500000".
pub fn timedelta_text(ns: i64) -> String {
    let micros = ns.div_euclid(1000);
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let (secs, us) = (rest / 1_000_000, rest % 1_000_000);
    let mut out = String::new();
    if days != 0 {
        out = format!("{days} day{}, ", if days.abs() != 1 { "s" } else { "" });
    }
    out += &format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if us != 0 {
        out += &format!(".{us:06}");
    }
    out
}

pub struct OvernightRange {
    pub config: Config,
    zone: Zone,
    pub state: Option<DayState>,
    watch: Vec<String>,
}

impl OvernightRange {
    pub fn new(config: Config, zone: Zone) -> OvernightRange {
        OvernightRange {
            config,
            zone,
            state: None,
            watch: vec![],
        }
    }

    /// Wall-clock New York `hm` on the trading day, in UTC ns.
    fn at(&self, day: &TradingDay, hm: (i64, i64)) -> i64 {
        let (y, m, d) = day.date;
        self.zone
            .utc_of_local(days_from_civil(y, m, d) * DAY + hm.0 * 3600 * NS + hm.1 * MINUTE)
    }

    fn day_state(&mut self, day: &TradingDay) {
        let iso = day.iso();
        if self.state.as_ref().is_none_or(|s| s.date != iso) {
            self.state = Some(DayState::new(iso));
            self.watch.clear();
        }
    }

    /// True when a bar or quote of `symbol` can act (a filled entry awaits its breakeven).
    pub fn watching(&self, symbol: &str) -> bool {
        self.watch.iter().any(|s| s == symbol)
    }

    /// The prices at which a bar of `symbol` can act: (buy, level) per entry awaiting its breakeven;
    /// a buy's bar acts when its high reaches the level, a sell's when its low does. Empty when not
    /// watching. A backtest skips the bars that reach none of them (`backtest/skip.rs`).
    pub fn bar_triggers(&self, symbol: &str) -> Vec<(bool, f64)> {
        if !self.watching(symbol) {
            return vec![];
        }
        let Some(sd) = self.state.as_ref().and_then(|s| s.symbols.get(symbol)) else {
            return vec![];
        };
        let points = self.config.breakeven_points;
        sd.sides
            .values()
            .filter(|ss| ss.status == "filled" && !ss.breakeven_done)
            .filter_map(|ss| {
                let entry = Dec::parse(ss.fill_price.as_deref()?).ok()?;
                let buy = ss.side == "buy";
                let level = if buy {
                    entry.plus(points)
                } else {
                    entry.minus(points)
                };
                Some((buy, level.to_string().parse::<f64>().ok()?))
            })
            .collect()
    }

    fn needs_breakeven(&self, symbol: &str) -> bool {
        let sd = self.state.as_ref().and_then(|s| s.symbols.get(symbol));
        sd.is_some_and(|sd| {
            sd.sides
                .values()
                .any(|ss| ss.status == "filled" && !ss.breakeven_done)
        })
    }

    fn rewatch(&mut self) {
        let enabled = self.config.breakeven_enabled && self.state.is_some();
        let symbols: Vec<String> = self
            .state
            .as_ref()
            .map(|s| s.symbols.keys().map(String::from).collect())
            .unwrap_or_default();
        self.watch = symbols
            .into_iter()
            .filter(|s| enabled && self.needs_breakeven(s))
            .collect();
    }

    // ------------------------------------------------------------------ levels
    fn levels(
        &self,
        ctx: &mut dyn Context,
        symbol: &str,
        day: &TradingDay,
        until: i64,
        atr5_from: (i64, i64),
    ) -> Levels {
        let sessions = &day.sessions_before;
        let first = sessions.first().map_or(day.window_start, |s| s.0);
        let history = ctx.bars(symbol, first - DAY, until);
        let daily: Vec<_> = sessions
            .iter()
            .map(|&(open, close)| ctx.session_hlc(symbol, &history, open, close))
            .collect();
        let end = until.min(day.window_end);
        let expected = ctx.open_minutes(day.window_start, end);
        levels::levels(
            &self.config,
            &LevelInputs {
                history: &history,
                window: (day.window_start, end),
                atr5_from: self.at(day, atr5_from),
                until,
                daily: &daily,
                expected,
            },
        )
    }

    fn previous_close(&self, ctx: &mut dyn Context, symbol: &str, day: &TradingDay) -> Option<Dec> {
        let (open, close) = day.previous_rth?;
        let bars = ctx.bars(symbol, open, close);
        bars.close().last().map(|&c| Dec::from_f64(c))
    }

    fn filters_of(
        &self,
        ctx: &mut dyn Context,
        symbol: &str,
        day: &TradingDay,
        lv: &Levels,
        open_price: Option<Dec>,
    ) -> (OrderedMap<state::Verdict>, Option<String>) {
        let prev = self.previous_close(ctx, symbol, day);
        let account = ctx.account();
        filters(&self.config, lv, open_price, prev, &account)
    }

    fn warmup_text(&self, missing: i64) -> String {
        format!(
            "warm-up: {missing} of the {} daily sessions needed for ATRD are missing; no trade",
            self.config.atr_period + 1
        )
    }

    // ------------------------------------------------------------------ session events
    fn range_card(&mut self, ctx: &mut dyn Context, day: &TradingDay) {
        let now = ctx.now();
        for symbol in self.config.symbols.clone() {
            let lv = self.levels(ctx, &symbol, day, now, ATR5_PROVISIONAL_FROM);
            let last = ctx.last_price(&symbol);
            let (filters, blocked) = self.filters_of(ctx, &symbol, day, &lv, last);
            let tick = ctx.tick_size(&symbol);
            let warmup = (lv.missing_sessions != 0).then(|| self.warmup_text(lv.missing_sessions));
            let sides = self.planned(tick, &lv);
            ctx.notify(Notice::RangeCard {
                symbol,
                card: "range",
                levels: text(&lv.as_json(tick)),
                filters: text(&filters),
                blocked,
                sides: text(&sides),
                warmup,
            });
        }
    }

    /// The entries the levels known so far give (the 09:25 card's preview).
    fn planned(&self, tick: Dec, lv: &Levels) -> OrderedMap<SidePlan> {
        let (Some(onh), Some(onl)) = (lv.onh, lv.onl) else {
            return OrderedMap::default();
        };
        let c = &self.config;
        let (stop, target) = bracket_ticks(c, tick, lv.atr5, lv.atrd);
        let mut out = OrderedMap::default();
        for (side, level) in entry_levels(tick, onh, onl, c.offset) {
            out.insert(
                side.value(),
                SidePlan {
                    side: side.value().into(),
                    level: level.to_string(),
                    size: c.quantity,
                    stop_ticks: stop.map(|s| -side.sign() * s),
                    target_ticks: target.map(|t| side.sign() * t),
                    status: "planned".into(),
                    note: String::new(),
                    fill_price: None,
                    exit_price: None,
                },
            );
        }
        out
    }

    fn entries_at_broker(&self, ctx: &mut dyn Context, day: &TradingDay) -> OrderedMap<OrderView> {
        let iso = day.iso();
        let tags: Vec<String> = self
            .config
            .symbols
            .iter()
            .flat_map(|s| Side::BOTH.map(|side| custom_tag(s, side, &iso)))
            .collect();
        let mut out = OrderedMap::default();
        for o in ctx.orders() {
            if let (Some(tag), Some(_)) = (&o.custom_tag, o.id) {
                if tags.contains(tag) {
                    out.insert(&tag.clone(), o);
                }
            }
        }
        out
    }

    fn open(&mut self, ctx: &mut dyn Context, day: &TradingDay) {
        let c = self.config.clone();
        let now = ctx.now();
        if let Some(st) = self.state.as_mut() {
            st.opened = true;
        }
        let placed = self.entries_at_broker(ctx, day);
        if now > day.rth_open + c.open_grace_minutes * MINUTE && placed.0.is_empty() {
            for symbol in &c.symbols {
                let why = format!(
                    "started {} after the open, past the {}-minute grace",
                    timedelta_text(now - day.rth_open),
                    c.open_grace_minutes
                );
                let st = self.state.as_mut().expect("day state");
                st.symbols.setdefault(symbol).blocked = Some(why);
                self.notify_day(ctx, symbol);
            }
            return;
        }
        for symbol in &c.symbols {
            let mut sd = {
                let st = self.state.as_mut().expect("day state");
                std::mem::take(st.symbols.setdefault(symbol))
            };
            self.open_symbol(ctx, day, symbol, &mut sd, &placed);
            *self
                .state
                .as_mut()
                .expect("day state")
                .symbols
                .setdefault(symbol) = sd;
            self.notify_day(ctx, symbol);
        }
        self.rewatch();
    }

    fn resend_missing(&mut self, ctx: &mut dyn Context, day: &TradingDay) {
        let placed = self.entries_at_broker(ctx, day);
        let Some(st) = self.state.clone() else { return };
        for (symbol, sd) in &st.symbols.0 {
            for ss in sd.sides.values() {
                if ss.status == "working" && placed.get(&ss.tag).is_none() {
                    ctx.propose(self.entry_request(symbol, ss));
                }
            }
        }
    }

    fn entry_request(&self, symbol: &str, ss: &SideState) -> PlaceRequest {
        let side = Side::parse(&ss.side).unwrap_or(Side::Buy);
        PlaceRequest {
            symbol: symbol.into(),
            side,
            kind: OrderKind::Stop,
            size: self.config.quantity,
            custom_tag: ss.tag.clone(),
            stop_price: Dec::parse(&ss.level).ok(),
            bracket: Some((ss.stop_ticks, ss.target_ticks)),
            reason: format!(
                "overnight {} breakout",
                if side == Side::Buy { "high" } else { "low" }
            ),
        }
    }

    fn open_symbol(
        &self,
        ctx: &mut dyn Context,
        day: &TradingDay,
        symbol: &str,
        sd: &mut SymbolDay,
        placed: &OrderedMap<OrderView>,
    ) {
        let c = &self.config;
        let tick = ctx.tick_size(symbol);
        let lv = self.levels(ctx, symbol, day, day.window_end, ATR5_FROM);
        sd.levels = lv.as_json(tick);
        let last = ctx.last_price(symbol);
        let (filters, mut blocked) = self.filters_of(ctx, symbol, day, &lv, last);
        sd.filters = filters;
        if lv.missing_sessions != 0 {
            blocked = Some(self.warmup_text(lv.missing_sessions));
        } else if lv.onh.is_none() || lv.onl.is_none() {
            blocked = blocked.or(Some("no overnight bars".into()));
        } else if lv.atr5.is_none() {
            blocked = blocked.or(Some(
                "ATR5 unavailable: fewer than 15 five-minute bars in [08:15, 09:30)".into(),
            ));
        }
        if blocked.is_some() {
            sd.blocked = blocked;
            return;
        }
        let (Some(onh), Some(onl), (Some(stop), Some(target))) =
            (lv.onh, lv.onl, bracket_ticks(c, tick, lv.atr5, lv.atrd))
        else {
            return;
        };
        let iso = day.iso();
        for (side, level) in entry_levels(tick, onh, onl, c.offset) {
            let tag = custom_tag(symbol, side, &iso);
            let mut ss = SideState {
                side: side.value().into(),
                tag: tag.clone(),
                level: level.to_string(),
                stop_ticks: -side.sign() * stop,
                target_ticks: side.sign() * target,
                status: "planned".into(),
                note: String::new(),
                order_id: None,
                fill_price: None,
                breakeven_done: false,
                exit_price: None,
            };
            if let Some(o) = placed.get(&tag) {
                adopt(&mut ss, o);
            }
            sd.sides.insert(side.value(), ss);
        }
        let filled: Option<String> = sd
            .sides
            .values()
            .find(|ss| ss.status == "filled")
            .map(|ss| ss.side.clone());
        for ss in sd.sides.values_mut() {
            let level = Dec::parse(&ss.level).unwrap_or(Dec::ZERO);
            let side = Side::parse(&ss.side).unwrap_or(Side::Buy);
            if let Some(o) = placed.get(&ss.tag) {
                if let (Some(f), true, true) =
                    (&filled, c.cancel_opposite_on_fill, ss.status == "working")
                {
                    if let Some(id) = o.id {
                        ctx.cancel(id);
                    }
                    ss.status = "cancelled".into();
                    ss.note = format!("entry OCO: the {f} entry filled");
                }
                continue;
            }
            if let (Some(f), true) = (&filled, c.cancel_opposite_on_fill) {
                ss.status = "cancelled".into();
                ss.note = format!("entry OCO: the {f} entry filled; not placed");
                continue;
            }
            if let Some(p) = last {
                if if side == Side::Buy {
                    p >= level
                } else {
                    p <= level
                } {
                    ss.status = "skipped".into();
                    ss.note = format!(
                        "no chase: last price {p} is already at or beyond the entry {}",
                        ss.level
                    );
                    continue;
                }
            }
            let decision = ctx.propose(self.entry_request(symbol, ss));
            if decision.approved {
                ss.status = "working".into();
                if decision.order_id.is_some() {
                    ss.order_id = decision.order_id;
                }
            } else {
                ss.status = "refused".into();
                ss.note = decision.reason;
            }
        }
    }

    fn notify_day(&self, ctx: &mut dyn Context, symbol: &str) {
        let Some(sd) = self.state.as_ref().and_then(|s| s.symbols.get(symbol)) else {
            return;
        };
        let sides = OrderedMap(
            sd.sides
                .0
                .iter()
                .map(|(k, v)| (k.clone(), SidePlan::of(v, self.config.quantity)))
                .collect(),
        );
        ctx.notify(Notice::RangeCard {
            symbol: symbol.into(),
            card: "open",
            levels: text(&sd.levels),
            filters: text(&sd.filters),
            blocked: sd.blocked.clone(),
            sides: text(&sides),
            warmup: None,
        });
    }

    fn cancel_entries(&mut self, ctx: &mut dyn Context, why: &str) {
        let Some(mut st) = self.state.take() else {
            return;
        };
        for sd in st.symbols.values_mut() {
            for ss in sd.sides.values_mut() {
                if ss.status != "working" {
                    continue;
                }
                for order in ctx.orders() {
                    if order.custom_tag.as_deref() == Some(ss.tag.as_str()) && order.working {
                        if let Some(id) = order.id {
                            ctx.cancel(id);
                        }
                    }
                }
                ss.status = "cancelled".into();
                ss.note = why.into();
            }
        }
        self.state = Some(st);
    }

    fn flatten(&mut self, ctx: &mut dyn Context, day: &TradingDay) {
        self.cancel_entries(ctx, "flatten time");
        for order in ctx.orders() {
            if order.working {
                if let Some(id) = order.id {
                    ctx.cancel(id);
                }
            }
        }
        let iso = day.iso();
        for symbol in self.config.symbols.clone() {
            let pos = ctx.position(&symbol);
            let st = self.state.as_mut().expect("day state");
            let sd = st.symbols.setdefault(&symbol);
            let Some((long, size)) = pos.filter(|p| p.1 != 0) else {
                continue;
            };
            if sd.flattened {
                continue;
            }
            sd.flattened = true;
            ctx.propose(PlaceRequest {
                symbol: symbol.clone(),
                side: if long { Side::Sell } else { Side::Buy },
                kind: OrderKind::Market,
                size,
                custom_tag: format!("{NAME}:{symbol}:flatten:{iso}"),
                stop_price: None,
                bracket: None,
                reason: "flatten time".into(),
            });
        }
    }

    fn summary(&self, ctx: &mut dyn Context) {
        let Some(st) = self.state.as_ref() else {
            return;
        };
        let mut trades = vec![];
        let mut notes = vec![];
        for (symbol, sd) in &st.symbols.0 {
            for ss in sd.sides.values() {
                if ss.fill_price.is_some() {
                    trades.push(TradeRow {
                        symbol: symbol.clone(),
                        tag: ss.tag.clone(),
                        side: ss.side.clone(),
                        size: self.config.quantity,
                        status: ss.status.clone(),
                        entry: ss.fill_price.clone(),
                        exit: ss.exit_price.clone(),
                    });
                }
            }
            let unfilled: Vec<String> = sd
                .sides
                .values()
                .filter(|ss| ss.fill_price.is_none())
                .map(|ss| {
                    let note = if ss.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", ss.note)
                    };
                    format!("{} {}{note}", ss.side, ss.status)
                })
                .collect();
            if let Some(b) = &sd.blocked {
                notes.push((symbol.clone(), format!("no trade: {b}")));
            } else if !unfilled.is_empty() {
                notes.push((symbol.clone(), unfilled.join("; ")));
            }
        }
        ctx.notify(Notice::Summary {
            date: st.date.clone(),
            trades,
            notes,
            symbols: text(&st.symbols),
        });
    }

    // ------------------------------------------------------------------ orders and fills
    /// (symbol, side key) of the entry an order is, or whose child or flatten it is.
    fn side_of(&self, order: &OrderView) -> Option<(String, String)> {
        let st = self.state.as_ref()?;
        for (symbol, sd) in &st.symbols.0 {
            for (key, ss) in &sd.sides.0 {
                if order.custom_tag.as_deref() == Some(ss.tag.as_str())
                    || (ss.order_id.is_some() && order.id == ss.order_id)
                {
                    return Some((symbol.clone(), key.clone()));
                }
            }
        }
        None
    }

    fn entry_of_child(&self, order: &OrderView) -> Option<(String, String)> {
        let st = self.state.as_ref()?;
        let parent = order.parent_id?;
        for (symbol, sd) in &st.symbols.0 {
            for (key, ss) in &sd.sides.0 {
                if ss.order_id == Some(parent) {
                    return Some((symbol.clone(), key.clone()));
                }
            }
        }
        None
    }

    fn entry_of_flatten(&self, order: &OrderView) -> Option<(String, String)> {
        let tag = order.custom_tag.as_deref().unwrap_or("");
        let (head, _) = tag.split_once(":flatten:")?;
        let (name, symbol) = head.split_once(':').unwrap_or((head, ""));
        let st = self.state.as_ref()?;
        if name != NAME {
            return None;
        }
        let sd = st.symbols.get(symbol)?;
        let key = sd
            .sides
            .0
            .iter()
            .rev()
            .find(|(_, ss)| ss.status == "filled")?
            .0
            .clone();
        Some((symbol.to_string(), key))
    }

    fn side_mut(&mut self, symbol: &str, key: &str) -> &mut SideState {
        let st = self.state.as_mut().expect("day state");
        st.symbols
            .get_mut(symbol)
            .and_then(|sd| sd.sides.get_mut(key))
            .expect("side")
    }

    fn breakeven(&mut self, ctx: &mut dyn Context, symbol: &str, fav_long: Dec, fav_short: Dec) {
        if !self.config.breakeven_enabled || self.state.is_none() {
            return;
        }
        let keys: Vec<String> = match self.state.as_ref().and_then(|s| s.symbols.get(symbol)) {
            Some(sd) => sd.sides.keys().map(String::from).collect(),
            None => return,
        };
        for key in keys {
            let points = self.config.breakeven_points;
            let ss = self.side_mut(symbol, &key).clone();
            let Some(fill) = ss
                .fill_price
                .as_deref()
                .filter(|_| ss.status == "filled" && !ss.breakeven_done)
            else {
                continue;
            };
            let entry = Dec::parse(fill).unwrap_or(Dec::ZERO);
            let gain = if ss.side == "buy" {
                fav_long.minus(entry)
            } else {
                entry.minus(fav_short)
            };
            if gain < points {
                continue;
            }
            for order in ctx.orders() {
                if order.parent_id == ss.order_id && order.kind == OrderKind::Stop && order.working
                {
                    if let Some(id) = order.id {
                        ctx.modify_stop(id, entry);
                    }
                    self.side_mut(symbol, &key).breakeven_done = true;
                }
            }
        }
        self.rewatch();
    }
}

/// Take an entry the broker already has (placed before a restart) as this side's order.
fn adopt(ss: &mut SideState, order: &OrderView) {
    ss.order_id = order.id;
    if let Some(p) = order.stop_price {
        ss.level = p.to_string();
    }
    if order.working {
        ss.status = "working".into();
    } else if order.status == "filled" {
        ss.status = "filled".into();
        ss.fill_price = order.filled_price.map(|p| p.to_string());
    } else {
        ss.status = "cancelled".into();
        ss.note = format!("the broker has it {}", order.status);
    }
}

impl Strategy for OvernightRange {
    fn name(&self) -> &str {
        NAME
    }

    fn on_session_event(&mut self, ctx: &mut dyn Context, event: SessionEvent, day: &TradingDay) {
        self.day_state(day);
        match event {
            SessionEvent::PreOpen => self.range_card(ctx, day),
            SessionEvent::Open => {
                if self.state.as_ref().is_some_and(|s| s.opened) {
                    self.resend_missing(ctx, day);
                } else {
                    self.open(ctx, day);
                }
            }
            SessionEvent::LastEntry => {
                self.cancel_entries(ctx, "no new entries after the last entry time")
            }
            SessionEvent::Flatten => self.flatten(ctx, day),
            SessionEvent::Summary => self.summary(ctx),
        }
    }

    fn on_bar(&mut self, ctx: &mut dyn Context, symbol: &str, high: f64, low: f64) {
        // Hot path (every bar of a backtest): nothing unless a position awaits its breakeven.
        if self.watch.iter().any(|s| s == symbol) {
            self.breakeven(ctx, symbol, Dec::from_f64(high), Dec::from_f64(low));
        }
    }

    fn bar_triggers(&self, symbol: &str) -> Option<Vec<(bool, f64)>> {
        let levels = OvernightRange::bar_triggers(self, symbol);
        (!levels.is_empty() || !self.watching(symbol)).then_some(levels)
    }

    fn on_quote(&mut self, ctx: &mut dyn Context, symbol: &str, last: Option<Dec>) {
        if let Some(p) = last {
            if self.watch.iter().any(|s| s == symbol) {
                self.breakeven(ctx, symbol, p, p);
            }
        }
    }

    fn on_order_update(&mut self, _ctx: &mut dyn Context, order: &OrderView) {
        let Some((symbol, key)) = self.side_of(order) else {
            return;
        };
        let ss = self.side_mut(&symbol, &key);
        if order.id.is_some() {
            ss.order_id = order.id;
        }
        if matches!(order.status.as_str(), "cancelled" | "expired" | "rejected")
            && ss.status == "working"
        {
            ss.status = "cancelled".into();
        }
    }

    fn on_fill(&mut self, ctx: &mut dyn Context, order: &OrderView, price: Dec, size: i64) {
        if let Some((symbol, key)) = self.side_of(order) {
            let ss = self.side_mut(&symbol, &key);
            ss.status = "filled".into();
            ss.fill_price = Some(price.to_string());
            if order.id.is_some() {
                ss.order_id = order.id;
            }
            let (side, tag) = (ss.side.clone(), ss.tag.clone());
            if self.config.cancel_opposite_on_fill {
                let others: Vec<String> = {
                    let sd = self
                        .state
                        .as_ref()
                        .and_then(|s| s.symbols.get(&symbol))
                        .expect("symbol");
                    sd.sides
                        .0
                        .iter()
                        .filter(|(k, o)| *k != key && o.status == "working")
                        .map(|(k, _)| k.clone())
                        .collect()
                };
                for other in others {
                    let other_tag = self.side_mut(&symbol, &other).tag.clone();
                    for o in ctx.orders() {
                        if o.custom_tag.as_deref() == Some(other_tag.as_str()) && o.working {
                            if let Some(id) = o.id {
                                ctx.cancel(id);
                            }
                        }
                    }
                    let os = self.side_mut(&symbol, &other);
                    os.status = "cancelled".into();
                    os.note = format!("entry OCO: the {side} entry filled");
                }
            }
            ctx.notify(Notice::Fill {
                symbol,
                exit: false,
                side: Side::parse(&side).unwrap_or(Side::Buy),
                price,
                size,
                tag: Some(tag),
                entry_price: None,
            });
            self.rewatch();
            return;
        }
        if let Some((symbol, key)) = self
            .entry_of_child(order)
            .or_else(|| self.entry_of_flatten(order))
        {
            let ss = self.side_mut(&symbol, &key);
            ss.status = "closed".into();
            ss.exit_price = Some(price.to_string());
            let entry_price = ss.fill_price.as_deref().and_then(|p| Dec::parse(p).ok());
            let side = Side::parse(&ss.side).unwrap_or(Side::Buy);
            ctx.notify(Notice::Fill {
                symbol,
                exit: true,
                side,
                price,
                size,
                tag: order.custom_tag.clone(),
                entry_price,
            });
            self.rewatch();
        }
    }

    fn on_save(&self) -> String {
        self.state.as_ref().map_or_else(|| "{}".into(), text)
    }

    fn on_load(&mut self, state: &str) -> Result<(), String> {
        let v: serde_json::Value =
            serde_json::from_str(state).map_err(|e| format!("overnight_range state: {e}"))?;
        if v.as_object().is_none_or(|m| m.is_empty()) {
            self.state = None;
            self.watch.clear();
            return Ok(());
        }
        // From the text, not the `Value` (whose maps sort their keys): the order of the keys is kept.
        self.state =
            Some(serde_json::from_str(state).map_err(|e| format!("overnight_range state: {e}"))?);
        self.rewatch();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
