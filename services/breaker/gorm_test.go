package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/golden-architecture/control-plane/platform/database"
	"github.com/golden-architecture/control-plane/services/breaker"
	"github.com/golden-architecture/control-plane/services/errs"
)

// item is the table of these tests.
type item struct {
	ID   int64  `gorm:"primaryKey"`
	Name string `gorm:"uniqueIndex"`
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// guardedSQLite opens an SQLite database with the plugin of a fresh
// "database" breaker installed.
func guardedSQLite(t *testing.T, s breaker.Settings) (*gorm.DB, *breaker.Breaker) {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{SQLitePath: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	reg, _ := newRegistry(t, s)
	b, err := reg.Add(breaker.Database, breaker.DatabaseFailure)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DB.Use(breaker.NewGORMPlugin(b)); err != nil {
		t.Fatal(err)
	}
	if err := db.DB.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`).Error; err != nil {
		t.Fatal(err)
	}
	return db.DB, b
}

// TestGORMAnswersAreNotFailures: constraint violations, missing rows and bad
// SQL are answers of a working database; the breaker stays closed and the
// errors reach the caller unchanged.
func TestGORMAnswersAreNotFailures(t *testing.T) {
	db, b := guardedSQLite(t, breaker.Settings{FailureThreshold: 2, OpenTimeout: time.Hour, HalfOpenMaxCalls: 1})
	ctx := context.Background()
	if err := db.WithContext(ctx).Create(&item{Name: "a"}).Error; err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"duplicate key", func() error { return db.WithContext(ctx).Create(&item{Name: "a"}).Error }, gorm.ErrDuplicatedKey},
		{"not found", func() error { return db.WithContext(ctx).Where("name = ?", "zzz").Take(&item{}).Error }, gorm.ErrRecordNotFound},
		{"bad SQL", func() error { return db.WithContext(ctx).Exec(`SELECT * FROM nowhere`).Error }, nil},
		{"failing transaction", func() error {
			return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				return tx.Create(&item{Name: "a"}).Error
			})
		}, gorm.ErrDuplicatedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 {
				err := tt.run()
				if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
					t.Fatalf("error = %v, want %v", err, tt.want)
				}
				if errs.Is(err, errs.CodeUnavailable) {
					t.Fatalf("error %v turned into %s", err, errs.CodeUnavailable)
				}
			}
			if got := b.Status(); got.State != breaker.Closed || got.TotalFailures != 0 {
				t.Errorf("breaker %+v, want closed without failures", got)
			}
		})
	}
	var n int64
	if err := db.WithContext(ctx).Model(&item{}).Count(&n).Error; err != nil || n != 1 {
		t.Errorf("count = %d, %v; want 1", n, err)
	}
	if b.Status().TotalSuccesses == 0 {
		t.Error("no statement was counted as a success")
	}
	if sqlDB, err := db.DB(); err != nil || sqlDB.Ping() != nil {
		t.Errorf("db.DB() through the guarded pool: %v", err)
	}
}

// TestGORMHalfOpenTrial: while half-open with one trial allowed, a create
// (with its implicit transaction) and an explicit transaction each pass as
// one trial and close the breaker.
func TestGORMHalfOpenTrial(t *testing.T) {
	tests := []struct {
		name string
		run  func(db *gorm.DB) error
	}{
		{"create", func(db *gorm.DB) error { return db.Create(&item{Name: "b"}).Error }},
		{"update", func(db *gorm.DB) error { return db.Model(&item{}).Where("1 = 1").Update("name", "c").Error }},
		{"transaction", func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&item{Name: "d"}).Error; err != nil {
					return err
				}
				return tx.Where("name = ?", "d").Take(&item{}).Error
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, b := guardedSQLite(t, breaker.Settings{FailureThreshold: 1, OpenTimeout: 20 * time.Millisecond, HalfOpenMaxCalls: 1})
			_ = b.Do(context.Background(), func(context.Context) error { return &net.OpError{Op: "dial", Err: errors.New("refused")} })
			waitState(t, b, breaker.HalfOpen)
			if err := tt.run(db.WithContext(context.Background())); err != nil {
				t.Fatalf("trial: %v", err)
			}
			if got := b.State(); got != breaker.Closed {
				t.Errorf("state after the trial = %s, want closed", got)
			}
		})
	}
}

// TestGORMFailsFastWhenUnreachable: against a PostgreSQL address where nothing
// listens, statements fail with 503 until the threshold, then every kind of
// statement and transaction is refused without dialling.
func TestGORMFailsFastWhenUnreachable(t *testing.T) {
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=nobody dbname=none sslmode=disable connect_timeout=2", closedPort(t))
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{TranslateError: true, DisableAutomaticPing: true, Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	reg, _ := newRegistry(t, breaker.Settings{FailureThreshold: 3, OpenTimeout: time.Hour, HalfOpenMaxCalls: 1})
	b, err := reg.Add(breaker.Database, breaker.DatabaseFailure)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Use(breaker.NewGORMPlugin(b)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for i := range 3 {
		err := db.WithContext(ctx).Take(&item{}).Error
		var ce *pgconn.ConnectError
		if !errs.Is(err, errs.CodeUnavailable) || !errors.As(err, &ce) || refused(err) {
			t.Fatalf("statement %d: %v; want a %s wrapping the connect error", i+1, err, errs.CodeUnavailable)
		}
	}
	if got := b.State(); got != breaker.Open {
		t.Fatalf("after 3 connection failures state = %s, want open", got)
	}

	fnRan := false
	tests := []struct {
		name string
		run  func() error
	}{
		{"query", func() error { return db.WithContext(ctx).Take(&item{}).Error }},
		{"raw scan", func() error { var n int; return db.WithContext(ctx).Raw("SELECT 1").Scan(&n).Error }},
		{"exec", func() error { return db.WithContext(ctx).Exec("SELECT 1").Error }},
		{"create", func() error { return db.WithContext(ctx).Create(&item{Name: "x"}).Error }},
		{"update", func() error { return db.WithContext(ctx).Model(&item{}).Where("id = 1").Update("name", "y").Error }},
		{"delete", func() error { return db.WithContext(ctx).Where("id = 1").Delete(&item{}).Error }},
		{"transaction", func() error {
			return db.WithContext(ctx).Transaction(func(*gorm.DB) error { fnRan = true; return nil })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.Status()
			err := tt.run()
			if !errs.Is(err, errs.CodeUnavailable) || !refused(err) {
				t.Fatalf("error = %v, want the breaker's %s refusal", err, errs.CodeUnavailable)
			}
			after := b.Status()
			if after.TotalFailures != before.TotalFailures || after.TotalRejected != before.TotalRejected+1 {
				t.Errorf("failures %d→%d, rejected %d→%d; want the statement refused once without dialling",
					before.TotalFailures, after.TotalFailures, before.TotalRejected, after.TotalRejected)
			}
		})
	}
	if fnRan {
		t.Error("the transaction function ran although BEGIN was refused")
	}
	reg.ResetAll()
	if err := db.WithContext(ctx).Take(&item{}).Error; refused(err) || !errs.Is(err, errs.CodeUnavailable) {
		t.Errorf("after a reset: %v; want the statement tried again (and failing to connect)", err)
	}
}
