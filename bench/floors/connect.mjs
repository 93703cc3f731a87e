// Shared by the floor scripts: one mysql2 connection with the options itop-cron uses, from BENCH_DB_*.
import process from 'node:process';
import mysql from 'mysql2/promise';

export function connectFloor() {
  const env = process.env;
  return mysql.createConnection({
    host: env.BENCH_DB_HOST, port: Number(env.BENCH_DB_PORT), user: env.BENCH_DB_USER,
    password: env.BENCH_DB_PASSWORD, database: env.BENCH_DB_NAME,
    charset: 'UTF8MB4_UNICODE_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true,
  });
}
