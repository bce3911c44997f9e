package app

// warnLocalState says at start, in production, which shared state this
// process keeps to itself for want of Redis. Embedded mode is one instance
// by design; production usually runs several replicas, where such state
// multiplies limits and makes lockouts, logouts and resets hold on one
// replica only.
func (a *App) warnLocalState() {
	if !a.cfg.Production() {
		return
	}
	if a.cfg.RedisURL == "" {
		a.log.Warn("production without REDIS_URL: login lockouts, token revocations and breaker resets are kept in this process, so a lockout, a logout or a reset holds only on the replica that saw it")
	}
	if a.cfg.RateLimitsEnabled && a.cfg.RateLimitStorageURI == "" {
		a.log.Warn("production without REDIS_URL or RATE_LIMIT_STORAGE_URI: rate limits are counted in this process, so N replicas allow N times each limit")
	}
}
