package migrations

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/golden-architecture/control-plane/platform/database"

	"github.com/google/go-cmp/cmp"
)

func TestLoadMigrations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   fstest.MapFS
		want    []string // versions in order
		wantErr string
	}{
		{
			name: "numeric order, not text order",
			files: fstest.MapFS{
				"0010_ten.sql":  {Data: []byte("x")},
				"0002_two.sql":  {Data: []byte("x")},
				"0001_one.sql":  {Data: []byte("x")},
				"10000_big.sql": {Data: []byte("x")},
				"9999_last.sql": {Data: []byte("x")},
			},
			want: []string{"0001_one", "0002_two", "0010_ten", "9999_last", "10000_big"},
		},
		{
			name: "other files and folders ignored",
			files: fstest.MapFS{
				"README.md":          {Data: []byte("x")},
				"0001_one.sql":       {Data: []byte("x")},
				"old/0002_x.sql":     {Data: []byte("x")},
				"0003_dash-name.sql": {Data: []byte("x")},
			},
			want: []string{"0001_one", "0003_dash-name"},
		},
		{name: "empty folder", files: fstest.MapFS{}, want: nil},
		{
			name:    "same number twice",
			files:   fstest.MapFS{"0002_users.sql": {Data: []byte("x")}, "0002_budget.sql": {Data: []byte("x")}},
			wantErr: "migrations 0002_budget.sql and 0002_users.sql share the number 2",
		},
		{name: "no number", files: fstest.MapFS{"users.sql": {}}, wantErr: "migration users.sql: file name must look like"},
		{name: "no name", files: fstest.MapFS{"0001_.sql": {}}, wantErr: "migration 0001_.sql: file name"},
		{name: "letters in number", files: fstest.MapFS{"00a1_x.sql": {}}, wantErr: "prefix is not a number"},
		{name: "space in name", files: fstest.MapFS{"0001_add users.sql": {}}, wantErr: `unexpected character ' '`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadMigrations(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadMigrations: %v", err)
			}
			var versions []string
			for _, m := range got {
				versions = append(versions, m.version)
				if want := checksum(tc.files[m.file].Data); m.checksum != want {
					t.Errorf("%s checksum = %s, want %s", m.file, m.checksum, want)
				}
			}
			if diff := cmp.Diff(tc.want, versions); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChecksumIsHexSHA256(t *testing.T) {
	// sha256("abc") from FIPS 180-2.
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := checksum([]byte("abc")); got != want {
		t.Errorf("checksum(abc) = %s, want %s", got, want)
	}
}

// TestEmbeddedDialectsMatch keeps the two folders in step: every version
// exists for both databases, so neither mode lags behind the other.
func TestEmbeddedDialectsMatch(t *testing.T) {
	var got [2][]string
	for i, d := range []database.Dialect{database.Postgres, database.SQLite} {
		sub, err := fs.Sub(embedded, string(d))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		ms, err := loadMigrations(sub)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for _, m := range ms {
			got[i] = append(got[i], m.version)
		}
	}
	if len(got[0]) == 0 {
		t.Fatalf("no embedded migrations")
	}
	if diff := cmp.Diff(got[0], got[1]); diff != "" {
		t.Errorf("postgres/ and sqlite/ versions differ (-postgres +sqlite):\n%s", diff)
	}
}
