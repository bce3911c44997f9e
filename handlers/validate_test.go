package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

func TestValidateEndpoints(t *testing.T) {
	srv := testenv.Quick(t)
	token := srv.Token(t, "observer") // any valid token may validate
	synthesis := "Sure! Here it is:\n```json\n{\"synthesis_reasoning\": \"  Two agents disagree on retries  \", \"action_plan\": [{\"priority\": 1, \"type\": \"FIX\", \"issue\": \"Retry storm; DROP TABLE users\", \"agent\": \"worker\"}]}\n```\nThanks."
	tests := []struct {
		name       string
		path       string
		token      string
		body       any
		wantStatus int
		wantCode   string
		check      func(t *testing.T, body map[string]any)
	}{
		{
			name: "synthesis fenced, normalised, warned", path: "/api/v1/validate/synthesis", token: token,
			body: map[string]string{"llm_response": synthesis}, wantStatus: 200,
			check: func(t *testing.T, body map[string]any) {
				data := body["data"].(map[string]any)
				if data["synthesis_reasoning"] != "Two agents disagree on retries" {
					t.Errorf("synthesis_reasoning = %q, want trimmed", data["synthesis_reasoning"])
				}
				item := data["action_plan"].([]any)[0].(map[string]any)
				if item["type"] != "fix" || item["issue"] != "Retry storm; DROP TABLE users" {
					t.Errorf("item = %v, want type lowercased and issue unchanged", item)
				}
				warnings := body["warnings"].([]any)
				if len(warnings) != 1 || warnings[0].(map[string]any)["path"] != "/action_plan/0/issue" ||
					warnings[0].(map[string]any)["kind"] != "sql_injection" {
					t.Errorf("warnings = %v, want one sql_injection at /action_plan/0/issue", warnings)
				}
			},
		},
		{
			name: "consensus unfenced with prose", path: "/api/v1/validate/consensus", token: token,
			body: map[string]string{"llm_response": `I think {x} then {"decision":"Approve","confidence":0.9,"reasoning":"tests pass"} ok`}, wantStatus: 200,
			check: func(t *testing.T, body map[string]any) {
				if body["valid"] != true || body["data"].(map[string]any)["decision"] != "approve" {
					t.Errorf("body = %v, want valid approve", body)
				}
				if w := body["warnings"].([]any); len(w) != 0 {
					t.Errorf("warnings = %v, want none", w)
				}
			},
		},
		{
			name: "patterns array", path: "/api/v1/validate/patterns", token: token,
			body: map[string]string{"llm_response": `[{"pattern_type":"skill_gap","root_cause":"no tests","suggested_fix":"add tests","confidence":0.5}]`}, wantStatus: 200,
		},
		{
			name: "schema violations listed", path: "/api/v1/validate/consensus", token: token,
			body:       map[string]string{"llm_response": `{"decision":"maybe","confidence":2}`},
			wantStatus: 422, wantCode: "validation.unprocessable_entity",
			check: func(t *testing.T, body map[string]any) {
				errs := body["details"].(map[string]any)["errors"].([]any)
				paths := map[string]bool{}
				for _, e := range errs {
					paths[e.(map[string]any)["path"].(string)] = true
				}
				for _, want := range []string{"/decision", "/confidence", "/reasoning"} {
					if !paths[want] {
						t.Errorf("errors %v lack path %s", errs, want)
					}
				}
			},
		},
		{
			name: "no json", path: "/api/v1/validate/synthesis", token: token,
			body: map[string]string{"llm_response": "I could not decide."}, wantStatus: 422, wantCode: "validation.unprocessable_entity",
			check: func(t *testing.T, body map[string]any) {
				if !strings.Contains(body["message"].(string), "no JSON") {
					t.Errorf("message = %q, want it to say no JSON was found", body["message"])
				}
			},
		},
		{
			name: "over 256 KiB", path: "/api/v1/validate/synthesis", token: token,
			body: map[string]string{"llm_response": strings.Repeat("a", 256<<10+1)}, wantStatus: 422, wantCode: "validation.unprocessable_entity",
		},
		{
			name: "missing field", path: "/api/v1/validate/synthesis", token: token,
			body: map[string]string{}, wantStatus: 422, wantCode: "validation.unprocessable_entity",
		},
		{
			name: "no token", path: "/api/v1/validate/synthesis",
			body: map[string]string{"llm_response": "{}"}, wantStatus: 401, wantCode: "auth.unauthorized",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.Send(t, testenv.Request{Method: http.MethodPost, Path: tt.path, Token: tt.token, Body: tt.body})
			if tt.wantCode != "" {
				r.WantError(t, tt.wantStatus, tt.wantCode)
			} else {
				r.WantStatus(t, tt.wantStatus)
			}
			if tt.check != nil {
				tt.check(t, r.Map(t))
			}
		})
	}
}
