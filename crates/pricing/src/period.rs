//! Billing periods: frequencies, anchors, `addMonths`, and the schedule of a
//! line's periods with the pieces that proration cuts from them.
//!
//! Every date computation is checked: a date outside `0001-01-01 ..=
//! 9999-12-31` is `None`, which callers report as `OVERFLOW`.

use chrono::{Datelike, NaiveDate};

/// How often a rate bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Frequency {
    /// Every month.
    Monthly,
    /// Every 3 months.
    Quarterly,
    /// Every 6 months.
    SemiAnnually,
    /// Every 12 months.
    Annually,
}

impl Frequency {
    /// All frequencies, in the order `recurring` lists them.
    pub const ALL: [Frequency; 4] = [Self::Monthly, Self::Quarterly, Self::SemiAnnually, Self::Annually];

    /// Months in one period.
    #[must_use]
    pub const fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::SemiAnnually => 6,
            Self::Annually => 12,
        }
    }

    /// The name in JSON (`"SEMI_ANNUALLY"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "MONTHLY",
            Self::Quarterly => "QUARTERLY",
            Self::SemiAnnually => "SEMI_ANNUALLY",
            Self::Annually => "ANNUALLY",
        }
    }

    /// Reads the JSON name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// When a period is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// At the start of each period.
    InAdvance,
    /// At the end of each period.
    InArrears,
}

impl Timing {
    /// The name in JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InAdvance => "IN_ADVANCE",
            Self::InArrears => "IN_ARREARS",
        }
    }

    /// Reads the JSON name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "IN_ADVANCE" => Some(Self::InAdvance),
            "IN_ARREARS" => Some(Self::InArrears),
            _ => None,
        }
    }
}

/// The catalog's billing anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anchor {
    /// Periods start on the service start date (the default).
    #[default]
    Anniversary,
    /// Every customer is billed on this day (1..=31; 31 means the month's last day).
    DayOfMonth(u32),
}

/// The number of days from `a` (inclusive) to `b` (exclusive); negative when `b < a`.
#[must_use]
pub fn days(a: NaiveDate, b: NaiveDate) -> i64 {
    b.signed_duration_since(a).num_days()
}

/// Days in the month `month` (1..=12) of `year` (proleptic Gregorian).
#[must_use]
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn in_range(d: NaiveDate) -> Option<NaiveDate> {
    (1..=9999).contains(&d.year()).then_some(d)
}

/// Moves `date` by `k` months and sets the day to `min(anchor_day, daysInMonth)`.
#[must_use]
pub fn add_months(date: NaiveDate, k: i64, anchor_day: u32) -> Option<NaiveDate> {
    let index = i64::from(date.year()).checked_mul(12)?.checked_add(i64::from(date.month0()))?.checked_add(k)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    if !(1..=9999).contains(&year) {
        return None;
    }
    let day = anchor_day.clamp(1, 31).min(days_in_month(year, month));
    NaiveDate::from_ymd_opt(year, month, day)
}

/// `date + n` days, checked.
#[must_use]
pub fn add_days(date: NaiveDate, n: u32) -> Option<NaiveDate> {
    date.checked_add_days(chrono::Days::new(u64::from(n))).and_then(in_range)
}

/// The part `[start, end)` of the whole period `[whole_start, whole_end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// First day charged.
    pub start: NaiveDate,
    /// First day not charged.
    pub end: NaiveDate,
    /// Start of the whole period the piece is measured against.
    pub whole_start: NaiveDate,
    /// End of that whole period.
    pub whole_end: NaiveDate,
    /// The first day of the period on its line: `S` for a partial first
    /// period, else the boundary (what a discount's window compares).
    pub period_start: NaiveDate,
}

impl Piece {
    /// `days(start, end)` and `days(whole_start, whole_end)`: the exact factor.
    #[must_use]
    pub fn factor(&self) -> (i64, i64) {
        (days(self.start, self.end), days(self.whole_start, self.whole_end))
    }

    /// True when the piece is its whole period (factor 1).
    #[must_use]
    pub fn is_whole(&self) -> bool {
        self.start == self.whole_start && self.end == self.whole_end
    }
}

/// The periods of one line: `[S, A)` when the first period is partial
/// (measured against `[addMonths(A, −m, d), A)`), then
/// `B_n = addMonths(A, n·m, d)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `S`: the first day of paid service.
    pub service_start: NaiveDate,
    /// `A`: the first boundary on or after `S`.
    pub anchor_date: NaiveDate,
    /// `d`: the day every boundary keeps.
    pub anchor_day: u32,
    /// `m`: months per period.
    pub months: u32,
}

impl Schedule {
    /// The schedule of a line starting at `s` under the catalog's anchor.
    #[must_use]
    pub fn start(anchor: Anchor, s: NaiveDate, frequency: Frequency) -> Option<Self> {
        let day = match anchor {
            Anchor::Anniversary => s.day(),
            Anchor::DayOfMonth(d) => d,
        };
        Self::with_anchor_day(s, day, frequency)
    }

    /// The schedule from `s` whose boundaries keep day `anchor_day`: `A` is the
    /// first date on or after `s` whose day is `min(anchor_day, daysInMonth)`.
    #[must_use]
    pub fn with_anchor_day(s: NaiveDate, anchor_day: u32, frequency: Frequency) -> Option<Self> {
        let this_month = add_months(s, 0, anchor_day)?;
        let anchor_date = if this_month >= s { this_month } else { add_months(s, 1, anchor_day)? };
        Some(Self { service_start: s, anchor_date, anchor_day, months: frequency.months() })
    }

    /// A line that starts at `s` and takes the periods of `other` (co-terming):
    /// `A` is `other`'s first boundary on or after `s`.
    #[must_use]
    pub fn co_termed(s: NaiveDate, other: &Schedule) -> Option<Self> {
        let (_, start, end) = other.index_holding(s)?;
        let anchor_date = if start == s { start } else { end };
        Some(Self { service_start: s, anchor_date, anchor_day: other.anchor_day, months: other.months })
    }

    /// `B_n = addMonths(A, n·m, d)`, for any whole `n` (negative too).
    #[must_use]
    pub fn boundary(&self, n: i64) -> Option<NaiveDate> {
        add_months(self.anchor_date, n.checked_mul(i64::from(self.months))?, self.anchor_day)
    }

    /// The `n` with `B_n ≤ t < B_{n+1}`, ignoring the service start, with
    /// `B_n` and `B_{n+1}`.
    fn index_holding(&self, t: NaiveDate) -> Option<(i64, NaiveDate, NaiveDate)> {
        let month_index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
        let diff = month_index(t) - month_index(self.anchor_date);
        let n = diff.div_euclid(i64::from(self.months));
        let (start, end) =
            if n == 0 { (self.anchor_date, self.boundary(1)?) } else { (self.boundary(n)?, self.boundary(n + 1)?) };
        // B_n lies in the month A + n·m, so the estimate is off by one at most.
        if start > t {
            Some((n - 1, self.boundary(n - 1)?, start))
        } else if end <= t {
            Some((n + 1, end, self.boundary(n + 2)?))
        } else {
            Some((n, start, end))
        }
    }

    /// The period holding `t` (`t ≥ S`): the partial first period, measured
    /// against its reference period, or a whole period `[B_n, B_{n+1})`.
    #[must_use]
    pub fn period_holding(&self, t: NaiveDate) -> Option<Piece> {
        if t < self.service_start {
            return None;
        }
        if t < self.anchor_date {
            return Some(Piece {
                start: self.service_start,
                end: self.anchor_date,
                whole_start: self.boundary(-1)?,
                whole_end: self.anchor_date,
                period_start: self.service_start,
            });
        }
        let (_, start, end) = self.index_holding(t)?;
        Some(Piece { start, end, whole_start: start, whole_end: end, period_start: start })
    }

    /// The first period: partial `[S, A)` or whole `[A, B_1)`.
    #[must_use]
    pub fn first_period(&self) -> Option<Piece> {
        self.period_holding(self.service_start)
    }

    /// The end of the period holding `t`; for `t` before `S`, `S` itself
    /// (the end of a trial).
    #[must_use]
    pub fn next_boundary(&self, t: NaiveDate) -> Option<NaiveDate> {
        if t < self.service_start {
            return Some(self.service_start);
        }
        self.period_holding(t).map(|p| p.end)
    }

    /// `[from, to)` cut at every boundary, each piece with the whole period it
    /// lies in; `from` before `S` starts at `S`. Empty when `from ≥ to`.
    #[must_use]
    pub fn pieces(&self, from: NaiveDate, to: NaiveDate) -> Option<Vec<Piece>> {
        let mut out = Vec::new();
        let mut cur = from.max(self.service_start);
        while cur < to {
            let period = self.period_holding(cur)?;
            let end = period.end.min(to);
            out.push(Piece { start: cur, end, ..period });
            cur = end;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        crate::json::parse_date(s).unwrap()
    }

    #[test]
    fn add_months_keeps_the_anchor_day_across_short_months() {
        let jan31 = date("2024-01-31");
        let got: Vec<_> = (0..5).map(|k| add_months(jan31, k, 31).unwrap().to_string()).collect();
        assert_eq!(got, ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]);
    }

    #[test]
    fn add_months_goes_backwards_across_a_year() {
        assert_eq!(add_months(date("2024-02-29"), -1, 31), Some(date("2024-01-31")));
        assert_eq!(add_months(date("2024-01-15"), -13, 15), Some(date("2022-12-15")));
    }

    #[test]
    fn add_months_beyond_year_9999_is_none() {
        assert_eq!(add_months(date("9999-12-01"), 1, 1), None);
        assert_eq!(add_months(date("0001-01-01"), -1, 1), None);
        assert_eq!(add_months(date("2024-01-01"), i64::MAX, 1), None);
    }

    #[test]
    fn an_anniversary_on_feb_29_falls_on_feb_28_in_common_years() {
        let s = Schedule::start(Anchor::Anniversary, date("2024-02-29"), Frequency::Annually).unwrap();
        assert_eq!(s.boundary(1), Some(date("2025-02-28")));
        assert_eq!(s.boundary(4), Some(date("2028-02-29")));
    }

    #[test]
    fn day_of_month_31_anchors_on_the_last_day_of_february() {
        let s = Schedule::start(Anchor::DayOfMonth(31), date("2024-02-10"), Frequency::Monthly).unwrap();
        assert_eq!(s.anchor_date, date("2024-02-29"));
        let p = s.first_period().unwrap();
        assert_eq!((p.whole_start, p.whole_end), (date("2024-01-31"), date("2024-02-29")));
        assert_eq!(p.factor(), (19, 29));
        assert_eq!(s.boundary(1), Some(date("2024-03-31")));
    }

    #[test]
    fn day_of_month_on_the_start_day_gives_a_whole_first_period() {
        let s = Schedule::start(Anchor::DayOfMonth(1), date("2024-04-01"), Frequency::Monthly).unwrap();
        assert_eq!(s.anchor_date, date("2024-04-01"));
        assert!(s.first_period().unwrap().is_whole());
    }

    #[test]
    fn day_of_month_quarterly_measures_the_partial_period_against_three_months() {
        let s = Schedule::start(Anchor::DayOfMonth(15), date("2024-11-20"), Frequency::Quarterly).unwrap();
        let p = s.first_period().unwrap();
        assert_eq!((p.start, p.end), (date("2024-11-20"), date("2024-12-15")));
        assert_eq!(p.factor(), (25, 91));
    }

    #[test]
    fn the_period_holding_a_boundary_starts_on_it() {
        let s = Schedule::start(Anchor::DayOfMonth(1), date("2024-01-15"), Frequency::Monthly).unwrap();
        let p = s.period_holding(date("2024-03-01")).unwrap();
        assert_eq!((p.start, p.end), (date("2024-03-01"), date("2024-04-01")));
        let p = s.period_holding(date("2024-03-31")).unwrap();
        assert_eq!((p.start, p.end), (date("2024-03-01"), date("2024-04-01")));
        assert_eq!(s.period_holding(date("2024-01-14")), None);
    }

    #[test]
    fn pieces_are_cut_at_every_boundary_and_measured_against_their_period() {
        let s = Schedule::start(Anchor::DayOfMonth(1), date("2024-01-15"), Frequency::Monthly).unwrap();
        let pieces = s.pieces(date("2024-01-20"), date("2024-03-10")).unwrap();
        let got: Vec<_> = pieces.iter().map(|p| (p.start.to_string(), p.end.to_string(), p.factor())).collect();
        assert_eq!(
            got,
            [
                ("2024-01-20".into(), "2024-02-01".into(), (12, 31)),
                ("2024-02-01".into(), "2024-03-01".into(), (29, 29)),
                ("2024-03-01".into(), "2024-03-10".into(), (9, 31)),
            ]
        );
    }

    #[test]
    fn a_co_termed_line_takes_the_next_boundary_of_the_other() {
        let team = Schedule::start(Anchor::DayOfMonth(1), date("2024-01-15"), Frequency::Monthly).unwrap();
        let addon = Schedule::co_termed(date("2024-03-10"), &team).unwrap();
        assert_eq!(addon.anchor_date, date("2024-04-01"));
        let p = addon.first_period().unwrap();
        assert_eq!(p.factor(), (22, 31));
        let on_boundary = Schedule::co_termed(date("2024-04-01"), &team).unwrap();
        assert_eq!(on_boundary.anchor_date, date("2024-04-01"));
    }

    #[test]
    fn the_next_boundary_in_a_trial_is_the_trials_end() {
        let s = Schedule::start(Anchor::DayOfMonth(1), date("2024-02-19"), Frequency::Monthly).unwrap();
        assert_eq!(s.next_boundary(date("2024-01-20")), Some(date("2024-02-19")));
        assert_eq!(s.next_boundary(date("2024-02-19")), Some(date("2024-03-01")));
    }
}
