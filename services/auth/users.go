package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// User is an account as the service shows it: never its password hash.
type User struct {
	ID       string
	Username string
	Role     Role
	// TenantID is the account's tenant; "" is a platform principal (admin
	// role only).
	TenantID string
	Disabled bool
	// PasswordChangedAt is when the password was last set; tokens issued
	// before it no longer verify.
	PasswordChangedAt time.Time
	// TokensRevokedAt is when an admin last disabled the account or changed
	// its role or tenant (zero: never); tokens issued before it no longer
	// verify either.
	TokensRevokedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func userOf(r models.User) User {
	u := User{
		ID: r.ID, Username: r.Username, Role: Role(r.Role), Disabled: r.Disabled,
		PasswordChangedAt: r.PasswordChangedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.TenantID != nil {
		u.TenantID = *r.TenantID
	}
	if r.TokensRevokedAt != nil {
		u.TokensRevokedAt = *r.TokensRevokedAt
	}
	return u
}

// validAfter is when the account's live tokens start: tokens issued earlier
// were ended by a password change or by an admin's change of the account.
func (u User) validAfter() time.Time {
	if u.TokensRevokedAt.After(u.PasswordChangedAt) {
		return u.TokensRevokedAt
	}
	return u.PasswordChangedAt
}

// Users stores accounts and their bcrypt hashes.
type Users struct {
	db   *gorm.DB
	cost int
	now  func() time.Time
}

// NewUsers returns the account store on db, hashing at bcrypt cost. now is the
// clock of created_at and password_changed_at (time.Now when nil).
func NewUsers(db *gorm.DB, cost int, now func() time.Time) *Users {
	return &Users{db: db, cost: cost, now: cursor.DBClock(now)}
}

// ByID finds an account by id.
func (u *Users) ByID(ctx context.Context, id string) (User, error) {
	var row models.User
	err := u.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, errs.New(errs.CodeNotFound, "user not found")
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	return userOf(row), nil
}

// byIDWithHash is the stored row of account id, password hash included.
func (u *Users) byIDWithHash(ctx context.Context, id string) (models.User, error) {
	var row models.User
	err := u.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, errs.New(errs.CodeNotFound, "user not found")
	}
	if err != nil {
		return row, fmt.Errorf("find user: %w", err)
	}
	return row, nil
}

// ByUsername finds an account by username (trimmed and lowercased).
func (u *Users) ByUsername(ctx context.Context, username string) (User, error) {
	row, err := u.account(ctx, username)
	if err != nil {
		return User{}, err
	}
	return userOf(row), nil
}

// account is the stored row of an account, password hash included, for the
// password checks of this package.
func (u *Users) account(ctx context.Context, username string) (models.User, error) {
	var row models.User
	err := u.db.WithContext(ctx).Where("username = ?", NormalizeUsername(username)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, errs.Newf(errs.CodeNotFound, "user %q not found", NormalizeUsername(username))
	}
	if err != nil {
		return row, fmt.Errorf("find user: %w", err)
	}
	return row, nil
}

// Create adds an account bound to tenant, which must exist; tenant "" makes a
// platform principal, which only the admin role may be. The password must be
// 8–72 bytes; every invalid field is named in one 422; a taken username is a
// 409 state.conflict. It writes no audit entry, so it is for test fixtures:
// a change by a person (the users routes, the `users` subcommand) goes
// through Service.CreateUser, which audits it.
func (u *Users) Create(ctx context.Context, username, password string, role Role, tenant string) (User, error) {
	name := NormalizeUsername(username)
	if f := newUserFields(name, password, role, tenant); len(f) > 0 {
		return User{}, errs.Validation(f...)
	}
	hash, err := hashPassword(password, u.cost)
	if err != nil {
		return User{}, err
	}
	row := u.newRow(name, hash, role, tenant)
	if err := u.db.WithContext(ctx).Create(&row).Error; err != nil {
		return User{}, createError(err, name, tenant)
	}
	return userOf(row), nil
}

// SetPassword replaces the password of an account. Tokens issued before the
// change stop verifying (see Service.Verify). It writes no audit entry, so it
// is for test fixtures: a reset by a person goes through
// Service.ResetPassword, which audits it.
func (u *Users) SetPassword(ctx context.Context, username, password string) error {
	if err := checkNewPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password, u.cost)
	if err != nil {
		return err
	}
	name := NormalizeUsername(username)
	now := u.now()
	res := u.db.WithContext(ctx).Model(&models.User{}).Where("username = ?", name).
		Updates(map[string]any{"password_hash": hash, "updated_at": now, "password_changed_at": now})
	if res.Error != nil {
		return fmt.Errorf("set password: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.Newf(errs.CodeNotFound, "user %q not found", name)
	}
	return nil
}

// EnsureAdmin makes username an enabled platform admin (no tenant) whose
// password is password (ADMIN_USERNAME/ADMIN_PASSWORD at start). Nothing is
// written when that is already so, so restarts do not invalidate the admin's
// tokens. Replicas starting together converge on the same row.
func (u *Users) EnsureAdmin(ctx context.Context, username, password string) (changed bool, err error) {
	name := NormalizeUsername(username)
	if err := validUsername(name); err != nil {
		return false, fmt.Errorf("ADMIN_USERNAME: %w", err)
	}
	if err := checkNewPassword(password); err != nil {
		return false, fmt.Errorf("ADMIN_PASSWORD: %w", err)
	}
	existing, err := u.account(ctx, name)
	switch {
	case errs.Is(err, errs.CodeNotFound):
		hash, err := hashPassword(password, u.cost)
		if err != nil {
			return false, err
		}
		row := u.newRow(name, hash, RoleAdmin, "")
		res := u.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "username"}}, DoNothing: true}).Create(&row)
		if res.Error != nil {
			return false, fmt.Errorf("create admin: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return true, nil
		}
		// Another replica created it first; check it below like an existing row.
		if existing, err = u.account(ctx, name); err != nil {
			return false, err
		}
	case err != nil:
		return false, err
	}
	if existing.Role == string(RoleAdmin) && existing.TenantID == nil && !existing.Disabled && passwordMatches(existing.PasswordHash, password) {
		return false, nil
	}
	now := u.now()
	updates := map[string]any{"role": string(RoleAdmin), "tenant_id": nil, "disabled": false, "updated_at": now}
	if !passwordMatches(existing.PasswordHash, password) {
		hash, err := hashPassword(password, u.cost)
		if err != nil {
			return false, err
		}
		updates["password_hash"], updates["password_changed_at"] = hash, now
	}
	if err := u.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", existing.ID).Updates(updates).Error; err != nil {
		return false, fmt.Errorf("update admin: %w", err)
	}
	return true, nil
}

// demoUsers are the accounts of embedded mode (and SEED_DEMO_USERS=true):
// admin is a platform principal, the others belong to the default tenant.
var demoUsers = []struct {
	Username, Password string
	Role               Role
}{
	{"admin", "admin123", RoleAdmin},
	{"operator", "operator123", RoleOperator},
	{"developer", "dev123", RoleDeveloper},
	{"observer", "obs123", RoleObserver},
}

// SeedDemo creates the demo users that do not exist yet and returns their
// names: admin as a platform principal, the others in tenant (which must
// exist). Existing accounts of those names are left alone. Safe with several
// replicas starting at once: the insert skips conflicting names.
func (u *Users) SeedDemo(ctx context.Context, tenant string) ([]string, error) {
	var created []string
	for _, d := range demoUsers {
		var n int64
		if err := u.db.WithContext(ctx).Model(&models.User{}).Where("username = ?", d.Username).Count(&n).Error; err != nil {
			return created, fmt.Errorf("seed demo users: %w", err)
		}
		if n > 0 {
			continue
		}
		hash, err := hashPassword(d.Password, u.cost)
		if err != nil {
			return created, err
		}
		t := tenant
		if d.Role == RoleAdmin {
			t = ""
		}
		row := u.newRow(d.Username, hash, d.Role, t)
		res := u.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "username"}}, DoNothing: true}).Create(&row)
		if res.Error != nil {
			return created, fmt.Errorf("seed demo user %s: %w", d.Username, res.Error)
		}
		if res.RowsAffected == 1 {
			created = append(created, d.Username)
		}
	}
	return created, nil
}

func (u *Users) newRow(name, hash string, role Role, tenant string) models.User {
	now := u.now()
	row := models.User{
		ID: uuid.NewString(), Username: name, PasswordHash: hash, Role: string(role),
		CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now,
	}
	if tenant != "" {
		row.TenantID = &tenant
	}
	return row
}
