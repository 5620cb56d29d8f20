/**
 * The AWS SDK's credential chain reads the process environment, so tests that run the production S3
 * client set the stand-in's keys there and put everything back afterwards.
 */
const NAMES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_PROFILE'] as const;

export function useAwsCredentials(credentials: { accessKeyId: string; secretAccessKey: string }, region = 'us-east-1'): () => void {
  const saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
  for (const n of NAMES) delete process.env[n];
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  process.env.AWS_REGION = region;
  return () => {
    for (const [n, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  };
}
