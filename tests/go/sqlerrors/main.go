// Command sqlerrors runs failing queries through database/sql with real
// drivers, for weft's test of error spans: the same missing table through
// go-sql-driver/mysql (MYSQL_DSN), lib/pq and pgx's stdlib driver
// (POSTGRES_DSN), modernc.org/sqlite (in memory), the MySQL driver
// wrapped in another (as instrumentedsql wraps drivers for gobuffalo/pop),
// and a query whose argument cannot be sent. It prints
// each error ("DRIVER: ERROR") and exits.
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log"
	"os"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"
)

// wrapped is a driver that hands every connection to the driver it holds.
type wrapped struct{ parent driver.Driver }

func (w wrapped) Open(name string) (driver.Conn, error) { return w.parent.Open(name) }

func main() {
	sql.Register("wrapped-mysql", wrapped{&mysql.MySQLDriver{}})
	ctx := context.Background()
	pg := os.Getenv("POSTGRES_DSN")
	for _, d := range []struct{ driver, dsn string }{
		{"mysql", os.Getenv("MYSQL_DSN")},
		{"postgres", pg},
		{"pgx", pg},
		{"sqlite", ":memory:"},
		{"wrapped-mysql", os.Getenv("MYSQL_DSN")},
	} {
		db, err := sql.Open(d.driver, d.dsn)
		if err != nil {
			log.Fatal(err)
		}
		_, err = db.ExecContext(ctx, "SELECT * FROM weft_missing")
		fmt.Printf("%s: %v\n", d.driver, err)
		if d.driver == "mysql" {
			_, err = db.QueryContext(ctx, "SELECT ?", struct{}{})
			fmt.Printf("argument: %v\n", err)
		}
		db.Close()
	}
}
