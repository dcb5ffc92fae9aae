package dora

import "time"

// The tiers follow the software delivery performance clusters of DORA's Accelerate State of DevOps Report
// 2024. The report describes each cluster by ranges that touch ("less than one day", "between one day and one
// week"), so a figure on a shared edge goes to the cluster whose words include it; docs/dora.md has the table.

const (
	day   = 24 * time.Hour
	week  = 7 * day
	month = 30 * day // the report's "month", in days
)

// frequencyTier: elite deploys on demand, more than once a day; high between once a day and once a week;
// medium between once a week and once a month; low less often, including never. It compares whole seconds
// in integers, so that 30 deployments in 30 days is exactly once a day.
func frequencyTier(deployments int, window time.Duration) Tier {
	n, w := int64(deployments), int64(window/time.Second)
	switch {
	case n*int64(day/time.Second) > w:
		return Elite
	case n*int64(week/time.Second) >= w:
		return High
	case n*int64(month/time.Second) >= w:
		return Medium
	default:
		return Low
	}
}

// leadTimeTier: elite less than one day; high between one day and one week; medium between one week and one
// month; low beyond (the report's low cluster stops at six months; longer is still low).
func leadTimeTier(median time.Duration) Tier {
	switch {
	case median < day:
		return Elite
	case median <= week:
		return High
	case median <= month:
		return Medium
	default:
		return Low
	}
}

// failureRateTier: the report gives each cluster a typical rate, not a range: elite 5 %, high 20 %, medium
// 10 %, low 40 %. Medium's rate is below high's, so the rate alone cannot place a team in medium; ferry keeps
// the tier monotonic (a lower rate never gets a worse tier): at most 5 % is elite, at most 20 % high, and
// above 20 % low. Medium is never given. Integers keep the edges exact.
func failureRateTier(failures, deployments int) Tier {
	switch {
	case failures*20 <= deployments:
		return Elite
	case failures*5 <= deployments:
		return High
	default:
		return Low
	}
}

// recoveryTier: elite less than one hour; high and medium both less than one day, so ferry says high, the
// better of the two; low between one week and one month. Nothing lies between one day and one week, so one
// day or more is low.
func recoveryTier(median time.Duration) Tier {
	switch {
	case median < time.Hour:
		return Elite
	case median < day:
		return High
	default:
		return Low
	}
}
