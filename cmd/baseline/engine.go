package main

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// meBody has the fields and size of the control plane's /api/v1/auth/me
// answer for the admin, so both serialise the same amount of JSON.
type meBody struct {
	PrincipalID string    `json:"principal_id"`
	UserID      string    `json:"user_id"`
	Username    string    `json:"username"`
	Role        string    `json:"role"`
	TenantID    *string   `json:"tenant_id"`
	Permissions []string  `json:"permissions"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// newEngine is a Gin engine without middleware serving GET /api/v1/auth/me;
// with rdb it first INCRs key once (an error is a 503, as a limiter failing
// closed would answer). POST /api/v1/auth/login answers a placeholder token
// only so the load tool's me scenario, which logs in first, runs unchanged.
func newEngine(rdb *redis.Client, key string) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	expires := time.Now().Add(time.Hour).UTC()
	// The admin's 20 permission names, as /auth/me lists them.
	permissions := []string{
		"escalation.view", "escalation.resolve", "escalation.create", "task.create", "task.update", "task.delete",
		"task.view", "agent.configure", "agent.view", "budget.view", "budget.configure", "budget.spend",
		"learning.approve", "learning.view", "dlq.read", "dlq.resolve", "system.admin", "metrics.view",
		"key.manage", "user.manage",
	}
	r.GET("/api/v1/auth/me", func(c *gin.Context) {
		if rdb != nil {
			if err := rdb.Incr(c.Request.Context(), key).Err(); err != nil {
				c.JSON(http.StatusServiceUnavailable, gin.H{"error_code": "service.unavailable", "message": "redis"})
				return
			}
		}
		c.JSON(http.StatusOK, meBody{
			PrincipalID: "user:0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11",
			UserID:      "0b9e3f8e-4c1a-4f43-9d39-4f8d8e0f3a11", Username: "admin", Role: "admin",
			Permissions: permissions, ExpiresAt: expires,
		})
	})
	r.POST("/api/v1/auth/login", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"token": "baseline", "token_type": "Bearer"})
	})
	return r
}
