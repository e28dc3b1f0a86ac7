// The tests' root connection is the local stack's own (local/services/mariadb.ts).
export { rootConnection } from '#local/services/mariadb';
