package breaker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/errs"
)

// GORMPlugin puts a breaker in front of every statement of a *gorm.DB and of
// every transaction it begins: while the breaker is open, statements fail at
// once with 503 service.unavailable instead of each waiting for a connection.
// Only connection-level errors count as failures (the breaker's classifier);
// a connection-level error is also answered as 503 rather than 500.
type GORMPlugin struct {
	b *Breaker
}

var _ gorm.Plugin = (*GORMPlugin)(nil)

// NewGORMPlugin returns the plugin of b; install it with db.Use before the
// handle is shared.
func NewGORMPlugin(b *Breaker) *GORMPlugin { return &GORMPlugin{b: b} }

// Name implements gorm.Plugin.
func (p *GORMPlugin) Name() string { return "circuit_breaker:" + p.b.name }

// Initialize implements gorm.Plugin: callbacks around each statement (around
// the implicit transaction of a create, update or delete) and a guard on
// BeginTx for explicit transactions.
func (p *GORMPlugin) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	register := []error{
		cb.Create().Before("gorm:begin_transaction").Register(p.cbName("before_create"), p.before),
		cb.Create().After("gorm:commit_or_rollback_transaction").Register(p.cbName("after_create"), p.after),
		cb.Update().Before("gorm:begin_transaction").Register(p.cbName("before_update"), p.before),
		cb.Update().After("gorm:commit_or_rollback_transaction").Register(p.cbName("after_update"), p.after),
		cb.Delete().Before("gorm:begin_transaction").Register(p.cbName("before_delete"), p.before),
		cb.Delete().After("gorm:commit_or_rollback_transaction").Register(p.cbName("after_delete"), p.after),
		cb.Query().Before("gorm:query").Register(p.cbName("before_query"), p.before),
		cb.Query().After("gorm:after_query").Register(p.cbName("after_query"), p.after),
		cb.Row().Before("gorm:row").Register(p.cbName("before_row"), p.before),
		cb.Row().After("gorm:row").Register(p.cbName("after_row"), p.after),
		cb.Raw().Before("gorm:raw").Register(p.cbName("before_raw"), p.before),
		cb.Raw().After("gorm:raw").Register(p.cbName("after_raw"), p.after),
	}
	if err := errors.Join(register...); err != nil {
		return fmt.Errorf("register the %s breaker callbacks: %w", p.b.name, err)
	}
	if _, ok := db.ConnPool.(gorm.TxBeginner); ok {
		pool := &guardedPool{ConnPool: db.ConnPool, plugin: p}
		db.ConnPool = pool
		db.Statement.ConnPool = pool
	}
	return nil
}

func (p *GORMPlugin) cbName(step string) string { return "breaker:" + p.b.name + ":" + step }

// guardedKey marks the context of a statement the breaker already guards, so
// statements it runs inside (preloads, associations) are not asked again.
type guardedKey struct{}

// inflightKey stores a guarded statement's pending report in its Settings.
type inflightKey struct{ stmt *gorm.Statement }

type inflight struct {
	done func(error)
	ctx  context.Context
}

func (p *GORMPlugin) before(db *gorm.DB) {
	if db.Error != nil || db.DryRun {
		return
	}
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Value(guardedKey{}) != nil {
		return
	}
	done, err := p.b.Allow(ctx)
	if err != nil {
		_ = db.AddError(err)
		return
	}
	db.Statement.Settings.Store(inflightKey{db.Statement}, inflight{done: done, ctx: db.Statement.Context})
	db.Statement.Context = context.WithValue(ctx, guardedKey{}, true)
}

func (p *GORMPlugin) after(db *gorm.DB) {
	v, ok := db.Statement.Settings.LoadAndDelete(inflightKey{db.Statement})
	if !ok {
		return
	}
	call := v.(inflight)
	db.Statement.Context = call.ctx
	call.done(db.Error)
	db.Error = p.translate(db.Error)
}

// translate answers a connection-level error as 503 service.unavailable.
func (p *GORMPlugin) translate(err error) error {
	if err == nil || !p.b.failed(err) {
		return err
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return errs.Wrap(errs.CodeUnavailable, "the database is unavailable; retry shortly", err)
}

// guardedPool is the connection pool with BeginTx behind the breaker, so an
// explicit transaction fails at once while the breaker is open. GORM still
// finds the *sql.DB through GetDBConn.
type guardedPool struct {
	gorm.ConnPool
	plugin *GORMPlugin
}

var (
	_ gorm.TxBeginner     = (*guardedPool)(nil)
	_ gorm.GetDBConnector = (*guardedPool)(nil)
)

// BeginTx implements gorm.TxBeginner.
func (g *guardedPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	beginner := g.ConnPool.(gorm.TxBeginner)
	if ctx.Value(guardedKey{}) != nil {
		// The implicit transaction of a statement the callbacks guard.
		return beginner.BeginTx(ctx, opts)
	}
	var tx *sql.Tx
	err := g.plugin.b.Do(ctx, func(ctx context.Context) error {
		var err error
		tx, err = beginner.BeginTx(ctx, opts)
		return err
	})
	return tx, g.plugin.translate(err)
}

// GetDBConn implements gorm.GetDBConnector.
func (g *guardedPool) GetDBConn() (*sql.DB, error) {
	if c, ok := g.ConnPool.(gorm.GetDBConnector); ok {
		return c.GetDBConn()
	}
	if db, ok := g.ConnPool.(*sql.DB); ok {
		return db, nil
	}
	return nil, gorm.ErrInvalidDB
}
