/**
 * Preloaded into the s3rver child (`node --require`): fixes s3rver 3.7.1's delimited listings.
 *
 * Its filesystem store walks the bucket folder and prunes every folder two levels below the prefix
 * ("beneath a common prefix"), so a common prefix is only reported when an object sits directly
 * inside it: `a/2026/11/16/x.gz` never shows `a/` in a listing with Delimiter '/', as S3 would.
 * The pruning is only an optimisation (the store re-checks prefix and start-after on every key),
 * so the walk here ignores it and visits the whole bucket: correct, and fast enough for tests.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const utils = require('s3rver/lib/utils');

utils.walk = function* walk(dir) {
  for (const filename of fs.readdirSync(dir)) {
    const filePath = path.posix.join(dir, filename);
    if (fs.statSync(filePath).isDirectory()) yield* walk(filePath);
    else yield filePath;
  }
};
