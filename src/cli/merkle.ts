// Placeholder until the Merkle CLI lands (issue 2).
export async function merkleCommand(_argv: string[]): Promise<number> {
  process.stderr.write("quire merkle: not implemented yet\n");
  return 2;
}
