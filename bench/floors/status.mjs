// The floor of --status_only: start node, connect with mysql2, run one SELECT, print the rows, exit.
import process from 'node:process';
import { connectFloor } from './connect.mjs';

const conn = await connectFloor();
const [rows] = await conn.query('SELECT * FROM priv_backgroundtask ORDER BY class_name');
process.stdout.write(rows.map((r) => Object.values(r).join('\t')).join('\n') + '\n');
await conn.end();
