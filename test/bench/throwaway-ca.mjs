// A certificate authority that lives for one benchmark run: a CA and a leaf for 127.0.0.1, made with the
// openssl CLI in a temporary directory that cleanup() removes. Nothing is committed or reused.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function throwawayCa() {
  const dir = mkdtempSync(join(tmpdir(), "ibauth-bench-ca-"));
  const file = (name) => join(dir, name);
  const openssl = (...args) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr || r.error}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=ibauth bench CA",
  );
  openssl("req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(
    file("leaf.ext"),
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "leaf.ext",
    "-out",
    "leaf.pem",
  );
  return {
    dir,
    caFile: file("ca.pem"),
    keyFile: file("leaf.key"),
    certFile: file("leaf.pem"),
    read: (name) => readFileSync(file(name), "utf8"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
