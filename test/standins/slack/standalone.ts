/**
 * The Slack stand-in on its own, for trying `serve` by hand:
 *   node --import tsx test/standins/slack/standalone.ts
 * Prints the environment to export, then one line per message posted; Ctrl-C stops it.
 */
import { startSlackStandIn } from './index.ts';

const s = await startSlackStandIn();
process.stdout.write(`SLACK_API_URL=${s.apiUrl}\nSLACK_BOT_TOKEN=${s.token}\nSLACK_CHANNEL_ID=${s.channel}\n`);
let seen = 0;
const timer = setInterval(() => {
  const messages = s.messages(s.channel);
  for (const m of messages.slice(seen)) {
    const meta = m.metadata as { event_type?: string; event_payload?: { report_id?: string } } | undefined;
    process.stdout.write(
      `${new Date().toISOString()} slack stand-in: message ts ${m.ts}${m.thread_ts ? ` in thread ${m.thread_ts}` : ''}${meta ? ` [${meta.event_type} ${meta.event_payload?.report_id ?? ''}]` : ''}: ${m.text.slice(0, 100).replace(/\n/g, ' ')}\n`,
    );
  }
  seen = messages.length;
}, 250);
const stop = async () => {
  clearInterval(timer);
  process.stdout.write(`slack stand-in: ${s.messages(s.channel).length} messages, ${s.files().length} files\n`);
  await s.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
