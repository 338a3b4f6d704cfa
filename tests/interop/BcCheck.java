/*
 * Checks S/MIME output with Bouncy Castle: decrypts EnvelopedData and
 * AuthEnvelopedData (RSA key transport and ECDH key agreement) and
 * verifies SignedData, many files in one run so that the JVM starts once.
 *
 * Usage: java -cp bcprov.jar:bcpkix.jar:bcutil.jar:DIR BcCheck MANIFEST RESULTS
 *
 * Each manifest line has tab-separated fields:
 *   decrypt ID CMS_DER CERT_PEM KEY_PEM OUT
 *   verify  ID CMS_DER CONTENT_OR_DASH ROOT_PEM OUT
 * "verify" takes the detached content from CONTENT, or "-" for SignedData
 * with the content inside. Each result line is "ID<TAB>OK<TAB>details" or
 * "ID<TAB>FAIL<TAB>reason"; OUT receives the decrypted or signed content.
 */

import java.io.FileReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.AuthEnvelopedData;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.smime.SMIMEAttributes;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.KeyAgreeRecipientInformation;
import org.bouncycastle.cms.KeyTransRecipientInformation;
import org.bouncycastle.cms.Recipient;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceKeyAgreeEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransAuthEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.util.Store;

public final class BcCheck {
    private static final JcaX509CertificateConverter CERTS =
        new JcaX509CertificateConverter().setProvider("BC");

    private BcCheck() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: BcCheck MANIFEST RESULTS");
            System.exit(2);
        }
        Security.addProvider(new BouncyCastleProvider());
        List<String> lines = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        try (PrintWriter results = new PrintWriter(Files.newBufferedWriter(Path.of(args[1])))) {
            for (String line : lines) {
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split("\t", -1);
                String id = f.length > 1 ? f[1] : "?";
                try {
                    String details = run(f);
                    results.println(id + "\tOK\t" + details);
                } catch (Exception e) {
                    results.println(id + "\tFAIL\t" + describe(e));
                }
            }
        }
    }

    private static String run(String[] f) throws Exception {
        if (f.length == 6 && f[0].equals("decrypt")) {
            return decrypt(Path.of(f[2]), Path.of(f[3]), Path.of(f[4]), Path.of(f[5]));
        }
        if (f.length == 6 && f[0].equals("verify")) {
            Path content = f[3].equals("-") ? null : Path.of(f[3]);
            return verify(Path.of(f[2]), content, Path.of(f[4]), Path.of(f[5]));
        }
        throw new IllegalArgumentException("bad manifest line: " + String.join(" ", f));
    }

    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (sb.length() > 0) {
                sb.append(": ");
            }
            sb.append(t.getClass().getSimpleName()).append(' ').append(t.getMessage());
        }
        return sb.toString().replace('\t', ' ').replace('\n', ' ');
    }

    private static Object readPem(Path path) throws IOException {
        try (PEMParser parser = new PEMParser(new FileReader(path.toFile(), StandardCharsets.US_ASCII))) {
            Object object = parser.readObject();
            if (object == null) {
                throw new IOException("no PEM object in " + path);
            }
            return object;
        }
    }

    private static X509CertificateHolder readCert(Path path) throws IOException {
        Object object = readPem(path);
        if (!(object instanceof X509CertificateHolder)) {
            throw new IOException(path + " does not start with a certificate");
        }
        return (X509CertificateHolder) object;
    }

    private static PrivateKey readKey(Path path) throws IOException {
        Object object = readPem(path);
        if (!(object instanceof PrivateKeyInfo)) {
            throw new IOException(path + " is not a PKCS#8 private key");
        }
        return new JcaPEMKeyConverter().setProvider("BC").getPrivateKey((PrivateKeyInfo) object);
    }

    /* Decrypts with the RecipientInfo that names cert; returns the content
     * encryption and key encryption algorithms. */
    @SuppressWarnings("unchecked")
    private static String decrypt(Path in, Path certPath, Path keyPath, Path out) throws Exception {
        byte[] der = Files.readAllBytes(in);
        X509CertificateHolder cert = readCert(certPath);
        PrivateKey key = readKey(keyPath);
        ASN1ObjectIdentifier type = ContentInfo.getInstance(der).getContentType();
        boolean aead = type.equals(CMSObjectIdentifiers.authEnvelopedData);
        RecipientInformationStore store;
        String contentAlg;

        if (aead) {
            CMSAuthEnvelopedData data = new CMSAuthEnvelopedData(der);
            store = data.getRecipientInfos();
            contentAlg = AuthEnvelopedData.getInstance(data.toASN1Structure().getContent())
                .getAuthEncryptedContentInfo().getContentEncryptionAlgorithm().getAlgorithm().getId();
        } else if (type.equals(CMSObjectIdentifiers.envelopedData)) {
            CMSEnvelopedData data = new CMSEnvelopedData(der);
            store = data.getRecipientInfos();
            contentAlg = data.getEncryptionAlgOID();
        } else {
            throw new IllegalArgumentException("content type " + type + " is not (auth)enveloped data");
        }

        for (RecipientInformation ri : store.getRecipients()) {
            if (!ri.getRID().match(cert)) {
                continue;
            }
            Recipient recipient;
            if (ri instanceof KeyTransRecipientInformation) {
                recipient = aead ? new JceKeyTransAuthEnvelopedRecipient(key).setProvider("BC")
                    : new JceKeyTransEnvelopedRecipient(key).setProvider("BC");
            } else if (ri instanceof KeyAgreeRecipientInformation) {
                /* Bouncy Castle 1.72 has no key agreement recipient class
                 * for AuthEnvelopedData. The enveloped one unwraps the
                 * content key, and the AEAD cipher comes from the data. */
                recipient = new JceKeyAgreeEnvelopedRecipient(key).setProvider("BC");
            } else {
                throw new IllegalArgumentException("unsupported RecipientInfo " + ri.getClass().getSimpleName());
            }
            Files.write(out, ri.getContent(recipient));
            return "content=" + contentAlg + " key=" + ri.getKeyEncryptionAlgOID()
                + " recipients=" + store.size();
        }
        throw new IllegalArgumentException("no RecipientInfo for " + cert.getSubject());
    }

    /* Verifies every SignerInfo, the signer's chain up to root with the
     * certificates in the SignedData, and the S/MIME signed attributes. */
    private static String verify(Path in, Path contentPath, Path rootPath, Path out) throws Exception {
        byte[] der = Files.readAllBytes(in);
        CMSSignedData signed = contentPath == null ? new CMSSignedData(der)
            : new CMSSignedData(new CMSProcessableByteArray(Files.readAllBytes(contentPath)), der);
        X509Certificate root = CERTS.getCertificate(readCert(rootPath));
        Store<X509CertificateHolder> certs = signed.getCertificates();
        StringBuilder details = new StringBuilder();
        Collection<SignerInformation> signers = signed.getSignerInfos().getSigners();

        if (signers.isEmpty()) {
            throw new IllegalArgumentException("no SignerInfo");
        }
        for (SignerInformation signer : signers) {
            @SuppressWarnings("unchecked")
            Collection<X509CertificateHolder> matches = certs.getMatches(signer.getSID());
            if (matches.isEmpty()) {
                throw new IllegalArgumentException("the signer's certificate is not in the SignedData");
            }
            X509CertificateHolder signerCert = matches.iterator().next();
            if (!signer.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(signerCert))) {
                throw new IllegalArgumentException("signature does not verify");
            }
            checkChain(CERTS.getCertificate(signerCert), certs, root);
            AttributeTable attrs = signer.getSignedAttributes();
            if (attrs == null || attrs.get(CMSAttributes.signingTime) == null
                || attrs.get(SMIMEAttributes.smimeCapabilities) == null
                || attrs.get(SMIMEAttributes.encrypKeyPref) == null) {
                throw new IllegalArgumentException(
                    "signingTime, SMIMECapabilities or SMIMEEncryptionKeyPreference is missing");
            }
            details.append("sig=").append(signer.getEncryptionAlgOID())
                .append(" digest=").append(signer.getDigestAlgOID()).append(' ');
        }
        Object content = signed.getSignedContent() != null ? signed.getSignedContent().getContent() : null;
        if (!(content instanceof byte[])) {
            throw new IllegalArgumentException("no signed content");
        }
        Files.write(out, (byte[]) content);
        return details.toString().trim();
    }

    /* Builds a PKIX path from cert to root through the SignedData's
     * certificates only; revocation is not checked here. */
    private static void checkChain(X509Certificate cert, Store<X509CertificateHolder> store,
            X509Certificate root) throws Exception {
        List<X509Certificate> pool = new ArrayList<>();
        @SuppressWarnings("unchecked")
        Collection<X509CertificateHolder> all = store.getMatches(null);
        for (X509CertificateHolder holder : all) {
            pool.add(CERTS.getCertificate(holder));
        }
        X509CertSelector target = new X509CertSelector();
        target.setCertificate(cert);
        PKIXBuilderParameters params = new PKIXBuilderParameters(
            Collections.singleton(new TrustAnchor(root, null)), target);
        params.setRevocationEnabled(false);
        params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(pool), "BC"));
        CertPathBuilder.getInstance("PKIX", "BC").build(params);
    }
}
