package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/golden-architecture/control-plane/models"
)

// loginWork makes every password check of a login cost the same bcrypt work,
// whichever path it takes and whatever cost the account's hash was made at.
//
// bcrypt's work doubles with each cost step. After BCRYPT_COST changes, the
// stored hashes keep their old cost until their owner logs in again (Login
// then rehashes), so comparing against the stored hash alone would make a
// known username answer faster or slower than an unknown one, which is
// compared against a dummy hash. Instead every login does 2^target units of
// work, target being the highest of BCRYPT_COST and every stored cost:
//
//   - an unknown user: one comparison with a dummy hash of cost target;
//   - a known user whose hash has cost c < target: the comparison with its
//     hash (2^c) and dummy comparisons of costs c, c+1, …, target−1, which add
//     up to 2^target − 2^c.
type loginWork struct {
	users   *Users
	compare func(hash, pw string) bool

	mu      sync.Mutex
	target  int
	loaded  bool
	dummies map[int]string
}

func newLoginWork(users *Users) *loginWork {
	return &loginWork{users: users, compare: passwordMatches, target: users.cost, dummies: map[int]string{}}
}

// check compares pw with hash ("" for an unknown user: a dummy hash) and
// pads the work to the target; it reports whether pw matched hash.
func (w *loginWork) check(ctx context.Context, hash, pw string) (bool, error) {
	target, err := w.targetCost(ctx)
	if err != nil {
		return false, err
	}
	cost := target
	if hash == "" {
		if hash, err = w.dummy(target); err != nil {
			return false, err
		}
	} else if c, err := bcrypt.Cost([]byte(hash)); err == nil {
		cost = c
		if c > target {
			w.raise(c) // a hash made since the costs were read
		}
	}
	match := w.compare(hash, pw)
	for _, c := range padCosts(cost, target) {
		d, err := w.dummy(c)
		if err != nil {
			return false, err
		}
		w.compare(d, pw)
	}
	return match, nil
}

// padCosts are the costs of the dummy comparisons that bring a comparison at
// cost up to the work of one at target: 2^cost + Σ 2^k (k = cost … target−1)
// = 2^target.
func padCosts(cost, target int) []int {
	var out []int
	for c := cost; c < target; c++ {
		out = append(out, c)
	}
	return out
}

// targetCost is the highest cost of BCRYPT_COST and the stored hashes,
// read from the database at the first login (and again until that worked).
func (w *loginWork) targetCost(ctx context.Context) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loaded {
		return w.target, nil
	}
	highest, err := w.users.highestCost(ctx)
	if err != nil {
		return 0, err
	}
	w.target = max(w.target, highest)
	w.loaded = true
	return w.target, nil
}

func (w *loginWork) raise(cost int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.target = max(w.target, cost)
}

// dummy is a hash of cost that no password matches, made once per cost.
func (w *loginWork) dummy(cost int) (string, error) {
	w.mu.Lock()
	h, ok := w.dummies[cost]
	w.mu.Unlock()
	if ok {
		return h, nil
	}
	h, err := hashPassword("dummy password that never matches", cost)
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	w.dummies[cost] = h
	w.mu.Unlock()
	return h, nil
}

// highestCost is the highest bcrypt cost among the stored hashes (0 when
// there are none). Only the distinct "$2a$NN$" prefixes are read.
func (u *Users) highestCost(ctx context.Context) (int, error) {
	var prefixes []string
	err := u.db.WithContext(ctx).Model(&models.User{}).Distinct("substr(password_hash, 1, 7)").Pluck("substr(password_hash, 1, 7)", &prefixes).Error
	if err != nil {
		return 0, fmt.Errorf("read password hash costs: %w", err)
	}
	highest := 0
	for _, p := range prefixes {
		parts := strings.Split(p, "$") // "", "2a", "NN", ""
		if len(parts) < 3 {
			continue
		}
		if c, err := strconv.Atoi(parts[2]); err == nil && c >= bcrypt.MinCost && c <= bcrypt.MaxCost {
			highest = max(highest, c)
		}
	}
	return highest, nil
}

// rehash stores a new hash of pw at BCRYPT_COST for the account id when its
// hash (old) was made at another cost. The password and password_changed_at
// stay as they are, so live tokens keep working; a concurrent password
// change wins (the update only applies to the old hash).
func (u *Users) rehash(ctx context.Context, id, old, pw string) (bool, error) {
	c, err := bcrypt.Cost([]byte(old))
	if err != nil || c == u.cost {
		return false, nil
	}
	h, err := hashPassword(pw, u.cost)
	if err != nil {
		return false, err
	}
	res := u.db.WithContext(ctx).Model(&models.User{}).Where("id = ? AND password_hash = ?", id, old).
		Updates(map[string]any{"password_hash": h})
	if res.Error != nil {
		return false, fmt.Errorf("rehash password: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}
