// Drives smimegw with jmap-jam, a JMAP client library from the npm registry:
// session discovery, blob upload, Email/set with the S/MIME arguments,
// Email/get (with a creation id and a result reference) and the download of
// the created message. Prints one JSON object with what it saw; the Python
// test (tests/integration/test_interop_npm.py) checks it.
//
// Environment: SMIMEGW_URL, SMIMEGW_TOKEN (a bearer token), FROM_EMAIL,
// TO_EMAIL, OUT_DIR (where the downloaded message is written).

import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { JamClient } from "jmap-jam";

const SMIME = "urn:ietf:params:jmap:smime-advanced";

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

const baseUrl = env("SMIMEGW_URL");
const jam = new JamClient({
  sessionUrl: `${baseUrl}/.well-known/jmap`,
  bearerToken: env("SMIMEGW_TOKEN"),
});

const session = await jam.session;
const accountId = await jam.getPrimaryAccount();

// Bytes with NUL and 8-bit values, which must come back unchanged.
const attachment = new Uint8Array(512);
for (let i = 0; i < attachment.length; i++) {
  attachment[i] = (i * 7) % 256;
}
const upload = await jam.uploadBlob(accountId,
  new Blob([attachment], { type: "application/octet-stream" }));

const [set] = await jam.api.Email.set({
  accountId,
  smimeSign: true,
  smimeEncrypt: true,
  create: {
    m1: {
      mailboxIds: { drafts: true },
      from: [{ name: "Alice (npm)", email: env("FROM_EMAIL") }],
      to: [{ name: "Bob, B.", email: env("TO_EMAIL") }],
      subject: "Signed and encrypted by jmap-jam – Grüße",
      bodyStructure: {
        type: "multipart/mixed",
        subParts: [
          { partId: "text", type: "text/plain" },
          { blobId: upload.blobId, type: "application/octet-stream", name: "bytes.bin" },
        ],
      },
      bodyValues: { text: { value: "Hello Bob,\nthis came through jmap-jam.\n" } },
    },
  },
}, { using: [SMIME] });

const created = set.created?.m1;
const result = { session, accountId, upload, set, created: created ?? null };

if (created) {
  // A creation id and a result reference in one request.
  const [responses] = await jam.requestMany((b) => {
    const first = b.Email.get({ accountId, ids: ["#m1"], properties: ["id"] });
    const second = b.Email.get({
      accountId,
      ids: first.$ref("/list/*/id"),
      properties: ["id", "blobId", "subject", "from", "to", "size", "hasAttachment", "bodyStructure"],
    });
    return { first, second };
  }, { createdIds: { m1: created.id } });
  result.get = responses.second;

  const response = await jam.downloadBlob({
    accountId, blobId: created.blobId, mimeType: "message/rfc822", fileName: "message.eml",
  });
  const message = new Uint8Array(await response.arrayBuffer());
  result.downloaded = join(env("OUT_DIR"), "message.eml");
  result.downloadedSize = message.length;
  await writeFile(result.downloaded, message);
  await writeFile(join(env("OUT_DIR"), "attachment.bin"), attachment);
}

process.stdout.write(`${JSON.stringify(result)}\n`);
