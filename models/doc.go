// Package models holds the GORM models: one struct per table, column helpers
// only. Tables are created by the SQL files in migrations/, never by GORM.
package models
