package work

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/models"
)

// CurrentPromptStatuses are the approval statuses of a prompt version that
// may be its role's current one (services/learning names them
// auto_approved and human_approved): the current prompt of a role in a
// tenant is its newest version in one of them.
var CurrentPromptStatuses = []string{"auto_approved", "human_approved"}

// roleKey names an agent role in a tenant.
type roleKey struct{ tenant, role string }

// withPrompts sets the current prompt version of each agent's role in its
// tenant (nil when the role has none) with one query for all of them.
func withPrompts(db *gorm.DB, agents []Agent) error {
	if len(agents) == 0 {
		return nil
	}
	tenants, roles := map[string]bool{}, map[string]bool{}
	for _, a := range agents {
		tenants[a.TenantID], roles[string(a.Role)] = true, true
	}
	var rows []struct {
		TenantID  string
		AgentRole string
		V         int
	}
	if err := db.Model(&models.AgentPrompt{}).Select("tenant_id, agent_role, MAX(version) AS v").
		Where("approval_status IN ? AND tenant_id IN ? AND agent_role IN ?", CurrentPromptStatuses, keysOf(tenants), keysOf(roles)).
		Group("tenant_id, agent_role").Scan(&rows).Error; err != nil {
		return fmt.Errorf("work: current prompt versions: %w", err)
	}
	current := make(map[roleKey]int, len(rows))
	for _, r := range rows {
		current[roleKey{r.TenantID, r.AgentRole}] = r.V
	}
	for i, a := range agents {
		if v, ok := current[roleKey{a.TenantID, string(a.Role)}]; ok {
			agents[i].PromptVersion = &v
		}
	}
	return nil
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
