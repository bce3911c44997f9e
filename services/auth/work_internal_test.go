package auth

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/models"
)

// TestPadCostsAddUp holds the arithmetic of loginWork: a comparison at any
// cost plus its padding is the work of one comparison at the target.
func TestPadCostsAddUp(t *testing.T) {
	for target := bcrypt.MinCost; target <= 20; target++ {
		for cost := bcrypt.MinCost; cost <= target; cost++ {
			work := 1 << cost
			for _, c := range padCosts(cost, target) {
				work += 1 << c
			}
			if work != 1<<target {
				t.Errorf("cost %d padded to target %d does %d units, want %d", cost, target, work, 1<<target)
			}
		}
	}
}

// TestLoginWorkIsTheSame counts the bcrypt work (2^cost per comparison) of
// every path of a password check after BCRYPT_COST changed: an unknown user,
// a known user whose hash has an older, lower cost, one at a higher cost, one
// at the current cost, right and wrong passwords. All do the same work, so
// their answer times do not tell which usernames exist.
func TestLoginWorkIsTheSame(t *testing.T) {
	db := dbtest.New(t).DB
	ctx := context.Background()
	hashes := map[string]string{}
	for name, cost := range map[string]int{"low": 4, "current": 5, "high": 6} {
		h, err := bcrypt.GenerateFromPassword([]byte("password-"+name), cost)
		if err != nil {
			t.Fatal(err)
		}
		hashes[name] = string(h)
		if err := db.Create(&models.User{ID: name, Username: name, PasswordHash: string(h), Role: "admin"}).Error; err != nil {
			t.Fatal(err)
		}
	}
	w := newLoginWork(NewUsers(db, 5, nil))
	var (
		mu   sync.Mutex
		work int
	)
	w.compare = func(hash, pw string) bool {
		c, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			t.Fatalf("compared with a hash that is not bcrypt: %v", err)
		}
		mu.Lock()
		work += 1 << c
		mu.Unlock()
		return passwordMatches(hash, pw)
	}
	for _, tc := range []struct {
		name, hash, password string
		match                bool
	}{
		{"unknown user", "", "password-low", false},
		{"low cost, right password", hashes["low"], "password-low", true},
		{"low cost, wrong password", hashes["low"], "wrong", false},
		{"current cost, right password", hashes["current"], "password-current", true},
		{"high cost, wrong password", hashes["high"], "wrong", false},
		{"high cost, right password", hashes["high"], "password-high", true},
	} {
		work = 0
		match, err := w.check(ctx, tc.hash, tc.password)
		if err != nil {
			t.Fatal(err)
		}
		if match != tc.match {
			t.Errorf("%s: match = %v, want %v", tc.name, match, tc.match)
		}
		if work != 1<<6 {
			t.Errorf("%s: %d units of bcrypt work, want %d (cost 6, the highest stored)", tc.name, work, 1<<6)
		}
	}
}
