package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/golden-architecture/control-plane/models"
	"github.com/golden-architecture/control-plane/services/audit"
	"github.com/golden-architecture/control-plane/services/cursor"
	"github.com/golden-architecture/control-plane/services/errs"
)

// The audit actions of user management. The password itself (or its hash)
// is never written to the audit trail.
const (
	ActionUserCreate        = "user.create"
	ActionUserUpdate        = "user.update"
	ActionUserPasswordReset = "user.password.reset"
)

// resourceUser is the audit resource type of an account.
const resourceUser = "user"

// NewUser is an account to create through the API.
type NewUser struct {
	Username string
	Password string
	Role     Role
	// TenantID is the account's tenant, which must exist; "" makes a
	// platform principal, which only the admin role may be.
	TenantID string
}

// CreateUser adds an account and audits it (user.create) in the same
// transaction. Every invalid field is named in one 422; a taken username is
// a 409 state.conflict.
func (s *Service) CreateUser(ctx context.Context, actor audit.Actor, in NewUser) (User, error) {
	name := NormalizeUsername(in.Username)
	if f := newUserFields(name, in.Password, in.Role, in.TenantID); len(f) > 0 {
		return User{}, errs.Validation(f...)
	}
	hash, err := hashPassword(in.Password, s.users.cost)
	if err != nil {
		return User{}, err
	}
	row := s.users.newRow(name, hash, in.Role, in.TenantID)
	err = s.users.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionUserCreate, ResourceType: resourceUser, ResourceID: row.ID,
			Details: map[string]any{"username": name, "role": string(in.Role), "tenant_id": tenantValue(in.TenantID)},
		}}})
	})
	if err != nil {
		return User{}, createError(err, name, in.TenantID)
	}
	return userOf(row), nil
}

// newUserFields checks every field of a new account and returns all that fail.
func newUserFields(name, password string, role Role, tenant string) []errs.FieldError {
	var f []errs.FieldError
	f = append(f, fieldsOf(validUsername(name))...)
	f = append(f, fieldsOf(checkNewPassword(password))...)
	if _, ok := ParseRole(string(role)); !ok {
		f = append(f, errs.FieldError{Field: "role", Message: "must be one of: admin, operator, developer, observer"})
	} else if tenant == "" && role != RoleAdmin {
		f = append(f, platformOnlyAdmin())
	}
	return f
}

func platformOnlyAdmin() errs.FieldError {
	return errs.FieldError{Field: "tenant_id", Message: "is required: only an admin may be a platform principal (no tenant)"}
}

// createError maps the typed errors of inserting an account.
func createError(err error, name, tenant string) error {
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return errs.Newf(errs.CodeConflict, "user %q already exists", name)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return unknownTenant(tenant)
	}
	return fmt.Errorf("create user: %w", err)
}

func unknownTenant(tenant string) error {
	return errs.Validation(errs.FieldError{Field: "tenant_id", Message: fmt.Sprintf("tenant %q does not exist", tenant)})
}

// fieldsOf returns the field errors of a validation error (none otherwise).
func fieldsOf(err error) []errs.FieldError {
	var e *errs.Error
	if errors.As(err, &e) {
		if f, ok := e.Details["errors"].([]errs.FieldError); ok {
			return f
		}
	}
	return nil
}

// tenantValue is a tenant for audit details: nil for a platform principal.
func tenantValue(tenant string) any {
	if tenant == "" {
		return nil
	}
	return tenant
}

// GetUser returns one account; an unknown id is resource.not_found.
func (s *Service) GetUser(ctx context.Context, id string) (User, error) {
	return s.users.ByID(ctx, id)
}

// UserFilter selects and pages accounts; empty fields select all.
type UserFilter struct {
	Role Role
	// TenantID selects the accounts of one tenant.
	TenantID string
	// Platform selects the platform principals (accounts bound to no tenant).
	Platform bool
	Disabled *bool
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
	// Limit is the page size (cursor.DefaultLimit when 0, at most cursor.MaxLimit).
	Limit int
}

// ListUsers returns accounts newest first with keyset paging.
func (s *Service) ListUsers(ctx context.Context, f UserFilter) (cursor.Page[User], error) {
	keys, err := cursor.Parse(f.Cursor, f.Limit, func(id string) (any, bool) { return id, id != "" })
	if err != nil {
		return cursor.Page[User]{}, err
	}
	q := s.users.db.WithContext(ctx).Model(&models.User{})
	if f.Role != "" {
		q = q.Where("role = ?", string(f.Role))
	}
	switch {
	case f.Platform:
		q = q.Where("tenant_id IS NULL")
	case f.TenantID != "":
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	if f.Disabled != nil {
		q = q.Where("disabled = ?", *f.Disabled)
	}
	var rows []models.User
	if err := keys.Apply(q).Find(&rows).Error; err != nil {
		return cursor.Page[User]{}, fmt.Errorf("list users: %w", err)
	}
	return cursor.Cut(keys, rows, func(r models.User) (time.Time, string) { return r.CreatedAt, r.ID }, userOf), nil
}

// UserChange changes an account; nil fields stay as they are.
type UserChange struct {
	Role *Role
	// TenantID moves the account to an existing tenant; "" makes it a
	// platform principal (admin role only).
	TenantID *string
	Disabled *bool
}

// UpdateUser changes the role, tenant or disabled flag of an account and
// audits the change (user.update, with the fields' old and new values) in the
// same transaction. Any change ends every token issued to the account before
// it: on this replica at once, on the others within the user cache's TTL.
// A body that changes nothing answers the account and writes nothing.
//
// The last enabled platform admin cannot be disabled, demoted or bound to a
// tenant (409 state.conflict): the users API is platform-level, so nobody
// could manage accounts over HTTP afterwards. The enabled platform admins
// are locked first, in id order, so two admins demoting each other at once
// wait for each other instead of both succeeding.
func (s *Service) UpdateUser(ctx context.Context, actor audit.Actor, id string, ch UserChange) (User, error) {
	if ch.Role != nil {
		if _, ok := ParseRole(string(*ch.Role)); !ok {
			return User{}, errs.Validation(errs.FieldError{Field: "role", Message: "must be one of: admin, operator, developer, observer"})
		}
	}
	var out User
	err := s.users.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var admins []string
		if err := tx.Model(&models.User{}).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("role = ? AND tenant_id IS NULL AND disabled = ?", string(RoleAdmin), false).
			Order("id").Pluck("id", &admins).Error; err != nil {
			return fmt.Errorf("lock the platform admins: %w", err)
		}
		var row models.User
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errs.New(errs.CodeNotFound, "user not found")
		}
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		before := userOf(row)
		after := before
		if ch.Role != nil {
			after.Role = *ch.Role
		}
		if ch.TenantID != nil {
			after.TenantID = *ch.TenantID
		}
		if ch.Disabled != nil {
			after.Disabled = *ch.Disabled
		}
		old, changed := userDiff(before, after)
		if len(changed) == 0 {
			out = before
			return nil
		}
		if after.TenantID == "" && after.Role != RoleAdmin {
			return errs.Validation(platformOnlyAdmin())
		}
		if platformAdmin(before) && !platformAdmin(after) && len(admins) <= 1 {
			return errs.Newf(errs.CodeConflict,
				"user %q is the last enabled platform admin: make another account a platform admin first", before.Username)
		}
		now := s.users.now()
		after.UpdatedAt, after.TokensRevokedAt = now, now
		updates := map[string]any{
			"role": string(after.Role), "tenant_id": tenantValue(after.TenantID), "disabled": after.Disabled,
			"updated_at": now, "tokens_revoked_at": now,
		}
		if err := tx.Model(&models.User{}).Where("id = ?", id).Updates(updates).Error; err != nil {
			if errors.Is(err, gorm.ErrForeignKeyViolated) {
				return unknownTenant(after.TenantID)
			}
			return fmt.Errorf("update user: %w", err)
		}
		out = after
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionUserUpdate, ResourceType: resourceUser, ResourceID: id,
			Details: map[string]any{"username": before.Username, "before": old, "after": changed, "tokens_revoked": true},
		}}})
	})
	if err != nil {
		return User{}, err
	}
	s.cache.forget(id)
	return out, nil
}

// platformAdmin reports whether u can manage accounts over HTTP.
func platformAdmin(u User) bool { return u.Role == RoleAdmin && u.TenantID == "" && !u.Disabled }

// userDiff returns the old and new values of the fields that differ.
func userDiff(before, after User) (old, changed map[string]any) {
	old, changed = map[string]any{}, map[string]any{}
	if before.Role != after.Role {
		old["role"], changed["role"] = string(before.Role), string(after.Role)
	}
	if before.TenantID != after.TenantID {
		old["tenant_id"], changed["tenant_id"] = tenantValue(before.TenantID), tenantValue(after.TenantID)
	}
	if before.Disabled != after.Disabled {
		old["disabled"], changed["disabled"] = before.Disabled, after.Disabled
	}
	return old, changed
}

// ResetPassword sets the password of account id (an admin's reset) and
// audits it (user.password.reset) in the same transaction. Every token issued
// to the account before the reset stops verifying.
func (s *Service) ResetPassword(ctx context.Context, actor audit.Actor, id, password string) (User, error) {
	if err := checkNewPassword(password); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(password, s.users.cost)
	if err != nil {
		return User{}, err
	}
	var out User
	err = s.users.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := s.setPassword(tx, id, hash)
		if err != nil {
			return err
		}
		out = u
		return s.audit.RecordAll(ctx, tx, []audit.Item{{Actor: actor, Entry: audit.Entry{
			Action: ActionUserPasswordReset, ResourceType: resourceUser, ResourceID: id,
			Details: map[string]any{"username": u.Username},
		}}})
	})
	if err != nil {
		return User{}, err
	}
	s.cache.forget(id)
	return out, nil
}

// setPassword stores hash as the password of account id inside tx and
// returns the account as it is now.
func (s *Service) setPassword(tx *gorm.DB, id, hash string) (User, error) {
	var row models.User
	err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, errs.New(errs.CodeNotFound, "user not found")
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	now := s.users.now()
	if err := tx.Model(&models.User{}).Where("id = ?", id).
		Updates(map[string]any{"password_hash": hash, "updated_at": now, "password_changed_at": now}).Error; err != nil {
		return User{}, fmt.Errorf("set password: %w", err)
	}
	row.PasswordHash, row.UpdatedAt, row.PasswordChangedAt = hash, now, now
	return userOf(row), nil
}

// renameField renames the field of a validation error (the password rules
// name "password"; a password change has old_password and new_password).
func renameField(err error, to string) error {
	f := fieldsOf(err)
	if f == nil {
		return err
	}
	out := make([]errs.FieldError, len(f))
	for i, e := range f {
		e.Field = to
		out[i] = e
	}
	return errs.Validation(out...)
}

// isUserToken reports whether id is a user's own login token (not an API key
// acting for it).
func isUserToken(id Identity) bool {
	return id.KeyID == "" && id.UserID != "" && id.TokenID != "" && id.PrincipalID == UserPrincipal(id.UserID)
}
