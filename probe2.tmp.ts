import { readFileSync, writeFileSync } from 'node:fs';
import { growthCharts } from './src/render/charts.ts';
const report = JSON.parse(readFileSync('/tmp/g8/demo/report.json', 'utf8'));
for (const c of await growthCharts(report)) { writeFileSync(`/tmp/g8/${c.filename}`, c.png); console.log(c.filename, c.png.readUInt32BE(16), c.png.readUInt32BE(20)); }
