//! Japanese business mail full of numbers that are not personal data: order confirmations,
//! invoices and quotes, shipping notices, reservations, memberships, bank notices, customer
//! numbers, meeting notices, product code lists.
//!
//! Every 12-digit number written here passes the My Number check digit and every 16-digit
//! one is a Luhn-valid number with a real issuer prefix (see `numbers`): the corpus is the
//! one in ten (in 10 × 1/3, for cards) of real business numbers that a check digit alone
//! would take for personal data.
//!
//! A letter is built as blocks (lines, label/value fields, tables) and rendered either as
//! plain text in one of several house styles or as HTML tables, then wrapped in a message
//! (`mime`) in one of the body forms Japanese mail uses.

use crate::mime::{self, BodyForm, Envelope};
use crate::numbers::{self as n, card_like, chance_my_number, tracking_number};
use crate::rng::Rng;

/// What kind of business mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// 注文確認: 注文番号.
    Order,
    /// 請求書: 請求書番号, amounts, 振込先 口座番号.
    Invoice,
    /// 見積書: 見積番号.
    Quote,
    /// 出荷のお知らせ: ヤマト/佐川/日本郵便 tracking numbers.
    Shipping,
    /// 予約確認: 予約番号.
    Reservation,
    /// 会員登録・ポイント: 会員番号 (12 or 16 digits).
    Membership,
    /// 振込受付・入金確認: 受付番号, 口座番号.
    Bank,
    /// ご利用料金・契約: お客様番号.
    Customer,
    /// 打ち合わせのご案内: phone numbers, a Web meeting ID.
    Meeting,
    /// 在庫確認・手配: product codes with no label, or a bare number in a sentence.
    Bare,
}

/// A piece of a letter.
#[derive(Clone, Debug)]
pub enum Block {
    /// Lines of prose.
    Lines(Vec<String>),
    /// Label and value pairs.
    Fields(Vec<(String, String)>),
    /// A table: header and rows.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// A letter before rendering.
#[derive(Clone, Debug)]
pub struct Letter {
    /// What kind.
    pub kind: Kind,
    /// The subject.
    pub subject: String,
    /// The body.
    pub blocks: Vec<Block>,
}

/// A generated message.
#[derive(Clone, Debug)]
pub struct Mail {
    /// What kind.
    pub kind: Kind,
    /// How its body is written.
    pub form: BodyForm,
    /// The message.
    pub raw: Vec<u8>,
    /// The subject and the plain-text body, for the generator's own checks and for reports.
    pub text: String,
}

const COMPANIES: [&str; 12] = [
    "株式会社山田商事",
    "有限会社佐藤工務店",
    "株式会社ミライ物産",
    "合同会社青葉企画",
    "株式会社東都システム",
    "北海フーズ株式会社",
    "株式会社さくら印刷",
    "株式会社みなと設計",
    "株式会社大和テクノ",
    "ひかり会計事務所",
    "株式会社中央ロジスティクス",
    "有限会社丸山製作所",
];

const PEOPLE: [&str; 16] = [
    "山田 太郎",
    "佐藤 花子",
    "鈴木 一郎",
    "高橋 美咲",
    "田中 健",
    "伊藤 直子",
    "渡辺 誠",
    "中村 由美",
    "小林 翔太",
    "加藤 陽菜",
    "吉田 大輔",
    "山口 恵",
    "松本 拓也",
    "井上 彩",
    "木村 和也",
    "林 真由美",
];

const SHOPS: [&str; 6] = [
    "ミライオフィス通販",
    "さくら文具オンライン",
    "青葉ストア",
    "ビジネスサプライ東都",
    "オフィスマート北海",
    "みなと工具センター",
];

const ADDRESSES: [&str; 8] = [
    "東京都千代田区丸の内1-2-3 丸の内ビル5F",
    "東京都新宿区西新宿2-8-1 新宿スクエア12階",
    "大阪府大阪市北区梅田2-4-9 梅田センタービル7F",
    "神奈川県横浜市西区みなとみらい3-6-1",
    "愛知県名古屋市中村区名駅4-7-1",
    "福岡県福岡市博多区博多駅前2-1-1 博多ビル3F",
    "北海道札幌市中央区北五条西2-5",
    "埼玉県さいたま市大宮区桜木町1-10-16",
];

const ITEMS: [(&str, u64); 12] = [
    ("コピー用紙 A4 5000枚", 2980),
    ("ボールペン 黒 10本入", 880),
    ("クリアファイル A4 100枚", 1450),
    ("トナーカートリッジ ブラック", 12800),
    ("付箋 75mm角 10冊", 1280),
    ("ホッチキス針 No.10 20箱", 640),
    ("段ボール箱 60サイズ 20枚", 2400),
    ("USBメモリ 32GB", 1680),
    ("電卓 12桁 卓上タイプ", 2750),
    ("ファイルボックス 5個組", 1980),
    ("ガムテープ 布 6巻", 1320),
    ("LANケーブル 5m", 980),
];

const BANKS: [&str; 7] = [
    "三井住友銀行",
    "みずほ銀行",
    "三菱UFJ銀行",
    "りそな銀行",
    "横浜銀行",
    "福岡銀行",
    "城南信用金庫",
];

const BRANCHES: [&str; 7] = [
    "丸の内",
    "新宿",
    "梅田",
    "名駅前",
    "博多",
    "横浜駅前",
    "大宮",
];

const HOLDERS: [&str; 5] = [
    "カ）ミライブッサン",
    "カ）ヤマダショウジ",
    "ユ）サトウコウムテン",
    "カ）トウトシステム",
    "ゴウ）アオバキカク",
];

/// Who writes to whom.
struct Parties {
    sender_company: String,
    sender: String,
    customer_company: String,
    customer: String,
    shop: String,
    address: String,
    yen: usize,
    /// The letter's date: year, month, day (1..=20, so that a week later is the same month).
    today: (usize, usize, usize),
}

impl Parties {
    fn new(rng: &mut Rng) -> Self {
        Self {
            sender_company: rng.pick(&COMPANIES).to_string(),
            sender: rng.pick(&PEOPLE).to_string(),
            customer_company: rng.pick(&COMPANIES).to_string(),
            customer: rng.pick(&PEOPLE).to_string(),
            shop: rng.pick(&SHOPS).to_string(),
            address: rng.pick(&ADDRESSES).to_string(),
            yen: rng.below(3),
            today: (
                rng.between(2024, 2025),
                rng.between(1, 12),
                rng.between(1, 20),
            ),
        }
    }

    fn surname(&self) -> &str {
        self.sender.split(' ').next().unwrap_or(&self.sender)
    }

    /// An amount in this letter's style: ￥12,800, ¥12,800 or 12,800円.
    fn money(&self, amount: u64) -> String {
        match self.yen {
            0 => format!("￥{}", n::yen(amount)),
            1 => format!("¥{}", n::yen(amount)),
            _ => format!("{}円", n::yen(amount)),
        }
    }

    /// The date `offset` days (at most 8) after the letter's date, as 2024年6月12日.
    fn day(&self, offset: usize) -> String {
        let (y, m, d) = self.today;
        format!("{y}年{m}月{}日", d + offset)
    }

    /// The end of the next month, as 2024年7月31日.
    fn next_month_end(&self) -> String {
        let (y, m, _) = self.today;
        let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let last = match m {
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        format!("{y}年{m}月{last}日")
    }

    /// The same day a year later.
    fn next_year(&self) -> String {
        let (y, m, d) = self.today;
        format!("{}年{m}月{d}日", y + 1)
    }

    fn opening(&self) -> String {
        format!(
            "{}\n{} 様\n\nいつも大変お世話になっております。\n{}の{}です。",
            self.customer_company,
            self.customer,
            self.sender_company,
            self.surname()
        )
    }
}

/// A 12-digit number as people write it: mostly plain, sometimes 4-4-4 with hyphens
/// (`hyphen` percent), in full width or 4-4-4 with spaces.
fn written(rng: &mut Rng, number: &str, hyphen: usize) -> String {
    let roll = rng.below(100);
    if roll < hyphen {
        n::grouped(number, &[4, 4, 4], "-")
    } else if roll < hyphen + 8 {
        n::full_width(number)
    } else if roll < hyphen + 12 {
        n::grouped(number, &[4, 4, 4], " ")
    } else {
        number.to_string()
    }
}

/// Items of an order: the table rows and the total before tax.
fn items(rng: &mut Rng, parties: &Parties) -> (Vec<Vec<String>>, u64) {
    let count = rng.between(1, 5);
    let mut rows = Vec::new();
    let mut total = 0;
    for _ in 0..count {
        let (name, price) = *rng.pick(&ITEMS);
        let quantity = rng.between(1, 12) as u64;
        total += price * quantity;
        rows.push(vec![
            name.to_string(),
            quantity.to_string(),
            parties.money(price),
            parties.money(price * quantity),
        ]);
    }
    (rows, total)
}

fn fields(pairs: &[(&str, String)]) -> Block {
    Block::Fields(
        pairs
            .iter()
            .map(|(label, value)| (label.to_string(), value.clone()))
            .collect(),
    )
}

fn lines(lines: &[&str]) -> Block {
    Block::Lines(lines.iter().map(|l| l.to_string()).collect())
}

fn order(rng: &mut Rng, p: &Parties) -> Letter {
    let sixteen = rng.percent(20);
    let number = if sixteen {
        card_like(rng)
    } else {
        chance_my_number(rng, "")
    };
    let shown = if sixteen {
        number.clone()
    } else {
        written(rng, &number, 5)
    };
    let label = *rng.pick(&["ご注文番号", "注文番号", "受注番号", "オーダー番号"]);
    let subject = match rng.below(3) {
        0 => format!("【{}】ご注文ありがとうございます", p.shop),
        1 => format!("ご注文内容のご確認（{label}：{number}）"),
        _ => format!("【ご注文確認】{}", p.shop),
    };
    let pay = match rng.below(5) {
        0 => "銀行振込（前払い）".to_string(),
        1 => "請求書払い（月末締め翌月末払い）".to_string(),
        2 => format!("クレジットカード（末尾{}）", n::digits(rng, 4)),
        3 => "代金引換".to_string(),
        _ => "コンビニ払い".to_string(),
    };
    let (rows, subtotal) = items(rng, p);
    let shipping = if subtotal >= 5000 { 0 } else { 550 };
    let tax = (subtotal + shipping) / 10;
    let mut blocks = vec![Block::Lines(vec![
        format!("{}\n{} 様", p.customer_company, p.customer),
        String::new(),
        format!(
            "この度は{}をご利用いただき、誠にありがとうございます。",
            p.shop
        ),
    ])];
    if rng.percent(30) {
        blocks.push(Block::Lines(vec![
            format!("{label}は {shown} です。"),
            "商品の発送準備が整い次第、あらためてご連絡いたします。".into(),
        ]));
        blocks.push(fields(&[
            ("ご注文日", format!("{} {}", p.day(0), n::time(rng))),
            ("お支払い方法", pay),
        ]));
    } else {
        blocks.push(lines(&[
            "下記の内容でご注文を承りましたので、ご確認ください。",
        ]));
        blocks.push(fields(&[
            (label, shown),
            ("ご注文日", format!("{} {}", p.day(0), n::time(rng))),
            ("お支払い方法", pay),
        ]));
    }
    blocks.push(Block::Table(
        ["商品名", "数量", "単価", "小計"]
            .map(String::from)
            .to_vec(),
        rows,
    ));
    blocks.push(fields(&[
        ("商品合計", p.money(subtotal)),
        ("送料", p.money(shipping)),
        ("消費税", p.money(tax)),
        ("ご請求金額", p.money(subtotal + shipping + tax)),
    ]));
    blocks.push(fields(&[
        (
            "お届け先",
            format!("{} {} 様", p.customer_company, p.customer),
        ),
        (
            *rng.pick(&["お届け先住所", "ご住所", "配送先"]),
            format!("〒{} {}", n::postal(rng), p.address),
        ),
        ("お電話番号", n::landline(rng)),
        ("お届け予定日", p.day(rng.between(2, 5))),
    ]));
    blocks.push(lines(&[
        "ご不明な点がございましたら、本メールにご返信いただくか下記までお問い合わせください。",
    ]));
    Letter {
        kind: Kind::Order,
        subject,
        blocks,
    }
}

fn invoice(rng: &mut Rng, p: &Parties, quote: bool) -> Letter {
    let number = chance_my_number(rng, "");
    let shown = written(rng, &number, 5);
    let month = rng.between(1, 12);
    let (rows, subtotal) = items(rng, p);
    let tax = subtotal / 10;
    let (kind, subject, mut blocks) = if quote {
        (
            Kind::Quote,
            match rng.below(2) {
                0 => "お見積書送付の件".to_string(),
                _ => format!(
                    "【お見積】{}様 ご依頼の件（見積番号 {number}）",
                    p.customer_company
                ),
            },
            vec![
                Block::Lines(vec![p.opening()]),
                lines(&[
                    "先日はお問い合わせいただき、誠にありがとうございました。",
                    "ご依頼の件につきまして、下記のとおりお見積りいたします。",
                ]),
                fields(&[
                    ("見積番号", shown),
                    ("見積日", p.day(0)),
                    ("有効期限", "発行日より30日間".to_string()),
                    ("お見積金額", format!("{}（税込）", p.money(subtotal + tax))),
                ]),
            ],
        )
    } else {
        let mut head = vec![
            ("請求書番号", shown),
            ("請求日", p.day(0)),
            ("ご請求金額", format!("{}（税込）", p.money(subtotal + tax))),
            ("お支払期限", p.next_month_end()),
        ];
        if rng.percent(50) {
            head.insert(2, ("登録番号", format!("T{}", n::corporate(rng))));
        }
        (
            Kind::Invoice,
            match rng.below(3) {
                0 => format!("請求書送付のご案内（{month}月分）"),
                1 => format!("【{}】{month}月度ご請求書の送付", p.sender_company),
                _ => format!("請求書番号 {number} のご送付"),
            },
            vec![
                Block::Lines(vec![p.opening()]),
                Block::Lines(vec![
                    format!("{month}月分のご請求につきまして、下記のとおりご案内申し上げます。"),
                    "お支払期限までに下記口座へお振込みくださいますようお願いいたします。"
                        .to_string(),
                ]),
                fields(&head),
            ],
        )
    };
    blocks.push(Block::Table(
        ["品目", "数量", "単価", "金額"].map(String::from).to_vec(),
        rows,
    ));
    blocks.push(fields(&[
        ("小計", p.money(subtotal)),
        ("消費税（10%）", p.money(tax)),
        ("合計", p.money(subtotal + tax)),
    ]));
    if !quote {
        blocks.push(fields(&[
            (
                "振込先",
                format!("{} {}支店", rng.pick(&BANKS), rng.pick(&BRANCHES)),
            ),
            ("口座種別", rng.pick(&["普通", "当座"]).to_string()),
            ("口座番号", n::account(rng)),
            ("口座名義", rng.pick(&HOLDERS).to_string()),
        ]));
        blocks.push(lines(&[
            "※振込手数料は貴社にてご負担くださいますようお願いいたします。",
        ]));
    }
    Letter {
        kind,
        subject,
        blocks,
    }
}

/// A carrier: its name, its labels for the tracking number, the prefixes its numbers start
/// with, and its tracking page.
struct Carrier {
    name: &'static str,
    labels: &'static [&'static str],
    prefixes: &'static [&'static str],
    url: &'static str,
}

const CARRIERS: [Carrier; 3] = [
    Carrier {
        name: "ヤマト運輸",
        labels: &["お問い合わせ伝票番号", "伝票番号", "送り状番号"],
        prefixes: &["4", "3", "2"],
        url: "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number01=",
    },
    Carrier {
        name: "佐川急便",
        labels: &["お問い合わせ送り状No.", "送り状番号", "お問合せ送り状NO"],
        prefixes: &["3", "4", "5"],
        url: "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo=",
    },
    Carrier {
        name: "日本郵便（ゆうパック）",
        labels: &["追跡番号", "お問い合わせ番号"],
        prefixes: &["1", "2", "4"],
        url: "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1=",
    },
];

fn shipping(rng: &mut Rng, p: &Parties) -> Letter {
    let carrier = rng.pick(&CARRIERS);
    let label = *rng.pick(carrier.labels);
    let order = rng.percent(60).then(|| chance_my_number(rng, ""));
    let parcels = *rng.pick(&[1, 1, 1, 1, 2, 3]);
    let numbers: Vec<String> = (0..parcels)
        .map(|_| {
            let prefix = *rng.pick(carrier.prefixes);
            tracking_number(rng, prefix)
        })
        .collect();
    let subject = match (rng.below(3), &order) {
        (0, Some(order)) => format!("発送完了のお知らせ（ご注文番号：{order}）"),
        (1, _) => format!("【出荷完了のお知らせ】{}", p.shop),
        _ => "商品発送のご案内".to_string(),
    };
    let mut pairs = Vec::new();
    if let Some(order) = &order {
        let shown = written(rng, order, 0);
        pairs.push(("ご注文番号".to_string(), shown));
    }
    pairs.push(("発送日".to_string(), p.day(0)));
    pairs.push(("配送業者".to_string(), carrier.name.to_string()));
    for (i, number) in numbers.iter().enumerate() {
        let shown = written(rng, number, 40);
        let label = if parcels > 1 {
            format!("{label}（{}個口目）", i + 1)
        } else {
            label.to_string()
        };
        pairs.push((label, shown));
    }
    pairs.push(("お届け予定日".to_string(), p.day(rng.between(1, 3))));
    let mut blocks = vec![
        Block::Lines(vec![
            format!("{}\n{} 様", p.customer_company, p.customer),
            String::new(),
            format!(
                "この度は{}をご利用いただき、誠にありがとうございます。",
                p.shop
            ),
            "ご注文いただいた商品を本日発送いたしました。".to_string(),
            format!("配送状況は下記の{label}にてご確認いただけます。"),
        ]),
        Block::Fields(pairs),
    ];
    if rng.percent(50) {
        blocks.push(Block::Lines(vec![
            "配送状況のご確認はこちら：".to_string(),
            format!("{}{}", carrier.url, numbers[0]),
        ]));
    }
    blocks.push(lines(&[
        "※反映までにお時間がかかる場合がございます。",
        "商品到着まで今しばらくお待ちくださいませ。",
    ]));
    Letter {
        kind: Kind::Shipping,
        subject,
        blocks,
    }
}

fn reservation(rng: &mut Rng, p: &Parties) -> Letter {
    let number = chance_my_number(rng, "");
    let shown = written(rng, &number, 5);
    let label = *rng.pick(&["予約番号", "ご予約番号", "予約確認番号"]);
    let (venue, details): (&str, Vec<(&str, String)>) = match rng.below(3) {
        0 => (
            *rng.pick(&[
                "ホテル東都 丸の内",
                "みなとみらいベイホテル",
                "ホテル北海 札幌駅前",
            ]),
            vec![
                ("チェックイン", format!("{} 15:00以降", p.day(3))),
                ("チェックアウト", format!("{} 10:00まで", p.day(4))),
                ("お部屋", "シングルルーム 禁煙".to_string()),
                ("ご宿泊人数", "大人1名".to_string()),
                (
                    "宿泊料金",
                    format!("{}（税込）", p.money(rng.between(8, 30) as u64 * 1100)),
                ),
            ],
        ),
        1 => (
            *rng.pick(&[
                "和食処 さくら 銀座店",
                "ビストロ青葉 梅田店",
                "個室居酒屋 みなと",
            ]),
            vec![
                ("ご来店日時", format!("{} 19:00", p.day(rng.between(1, 8)))),
                ("人数", format!("{}名様", rng.between(2, 12))),
                ("コース", format!("懐石コース {}", p.money(8800))),
            ],
        ),
        _ => (
            *rng.pick(&[
                "貸会議室 東都 新橋",
                "ビジネスセンター梅田",
                "みなとみらい会議室",
            ]),
            vec![
                (
                    "ご利用日時",
                    format!("{} 13:00～17:00", p.day(rng.between(1, 8))),
                ),
                ("会議室", "Room A（定員20名）".to_string()),
                ("ご利用料金", p.money(rng.between(10, 60) as u64 * 1100)),
            ],
        ),
    };
    let subject = match rng.below(3) {
        0 => format!("【予約確認】{venue}"),
        1 => format!("ご予約ありがとうございます（{label} {number}）"),
        _ => format!("{venue} ご予約内容のお知らせ"),
    };
    let mut pairs = vec![(label, shown), ("ご予約者名", format!("{} 様", p.customer))];
    pairs.extend(details);
    pairs.push(("お問い合わせ先", format!("{venue} {}", n::landline(rng))));
    Letter {
        kind: Kind::Reservation,
        subject,
        blocks: vec![
            Block::Lines(vec![
                format!("{} 様", p.customer),
                String::new(),
                format!("この度は{venue}をご予約いただき、誠にありがとうございます。"),
                "以下の内容でご予約を承りました。".to_string(),
            ]),
            fields(&pairs),
            Block::Lines(vec![
                format!(
                    "ご予約内容の変更・キャンセルは、{label}をお手元にご用意のうえ、お電話にてご連絡ください。"
                ),
                "キャンセル料：前日50%、当日100%".to_string(),
            ]),
        ],
    }
}

fn membership(rng: &mut Rng, p: &Parties) -> Letter {
    let number = if rng.percent(30) {
        let number = card_like(rng);
        if rng.percent(40) {
            n::grouped(&number, &[4, 4, 4, 4], " ")
        } else {
            number
        }
    } else {
        let number = chance_my_number(rng, "");
        written(rng, &number, 10)
    };
    let label = *rng.pick(&["会員番号", "お客様会員番号", "メンバー番号", "会員ID"]);
    let subject = match rng.below(3) {
        0 => "会員登録完了のお知らせ".to_string(),
        1 => format!("【{}】ポイント付与のお知らせ", p.shop),
        _ => "会員情報変更受付のお知らせ".to_string(),
    };
    Letter {
        kind: Kind::Membership,
        subject,
        blocks: vec![
            Block::Lines(vec![
                format!("{} 様", p.customer),
                String::new(),
                format!("{}をご利用いただき、誠にありがとうございます。", p.shop),
                "会員情報は以下のとおりです。".to_string(),
            ]),
            fields(&[
                (label, number),
                ("ご登録日", p.day(0)),
                ("ログインID", "hanako.sato@client.example.com".to_string()),
                (
                    "保有ポイント",
                    format!("{}pt", n::yen(rng.between(100, 25000) as u64)),
                ),
                ("ポイント有効期限", p.next_year()),
            ]),
            Block::Lines(vec![format!(
                "{label}はお問い合わせの際に必要となりますので、大切に保管してください。"
            )]),
        ],
    }
}

fn bank(rng: &mut Rng, p: &Parties) -> Letter {
    let number = chance_my_number(rng, "");
    let shown = written(rng, &number, 5);
    let bank = *rng.pick(&BANKS);
    let branch = *rng.pick(&BRANCHES);
    let amount = rng.between(5, 3000) as u64 * 1000 + rng.below(1000) as u64;
    if rng.percent(50) {
        Letter {
            kind: Kind::Bank,
            subject: match rng.below(2) {
                0 => "お振込受付完了のお知らせ".to_string(),
                _ => format!("【{bank}】振込受付のお知らせ"),
            },
            blocks: vec![
                Block::Lines(vec![
                    format!("{} 様", p.customer_company),
                    String::new(),
                    format!("いつも{bank}をご利用いただき、ありがとうございます。"),
                    "以下のお振込を受け付けました。".to_string(),
                ]),
                fields(&[
                    (*rng.pick(&["受付番号", "お取引番号"]), shown),
                    ("受付日時", format!("{} {}", p.day(0), n::time(rng))),
                    ("振込指定日", p.day(rng.between(0, 2))),
                    (
                        "振込先",
                        format!("{} {}支店", rng.pick(&BANKS), rng.pick(&BRANCHES)),
                    ),
                    ("口座種別", "普通".to_string()),
                    ("口座番号", n::account(rng)),
                    ("受取人名", rng.pick(&HOLDERS).to_string()),
                    ("振込金額", p.money(amount)),
                    ("振込手数料", p.money(*rng.pick(&[0, 145, 330, 440]))),
                ]),
                lines(&[
                    "本メールは送信専用アドレスから送信しています。",
                    "お心当たりのない場合は、至急お問い合わせください。",
                ]),
            ],
        }
    } else {
        Letter {
            kind: Kind::Bank,
            subject: "ご入金確認のお知らせ".to_string(),
            blocks: vec![
                Block::Lines(vec![p.opening()]),
                Block::Lines(vec![format!(
                    "{}付で下記のご入金を確認いたしました。誠にありがとうございました。",
                    p.day(0)
                )]),
                fields(&[
                    ("請求書番号", shown),
                    ("ご入金日", p.day(0)),
                    ("ご入金額", p.money(amount)),
                    (
                        "入金口座",
                        format!("{bank} {branch}支店 普通 {}", n::account(rng)),
                    ),
                ]),
            ],
        }
    }
}

fn customer(rng: &mut Rng, p: &Parties) -> Letter {
    let number = chance_my_number(rng, "");
    let shown = written(rng, &number, 10);
    let label = *rng.pick(&["お客様番号", "お客さま番号", "顧客番号", "お客様コード"]);
    let month = rng.between(1, 12);
    let subject = match rng.below(3) {
        0 => format!("{month}月分 ご利用料金のお知らせ"),
        1 => format!("【{}】保守契約更新のご案内", p.sender_company),
        _ => format!("{label}変更のお知らせ"),
    };
    Letter {
        kind: Kind::Customer,
        subject,
        blocks: vec![
            Block::Lines(vec![
                format!("{}\n{} 様", p.customer_company, p.customer),
                String::new(),
                "平素より格別のご愛顧を賜り、厚く御礼申し上げます。".to_string(),
                format!("{month}月分のご利用料金を下記のとおりお知らせいたします。"),
            ]),
            fields(&[
                (label, shown),
                ("ご契約名義", p.customer_company.clone()),
                (
                    "ご利用期間",
                    format!("{month}月1日～{month}月{}日", rng.pick(&[28, 30, 31])),
                ),
                ("ご請求金額", p.money(rng.between(3, 300) as u64 * 110)),
                ("口座振替日", p.day(rng.between(5, 8))),
            ]),
            Block::Lines(vec![
                format!("お問い合わせの際は、{label}をお知らせください。"),
                format!(
                    "カスタマーセンター：{}（受付時間 平日9:00～18:00）",
                    n::free_dial(rng)
                ),
            ]),
        ],
    }
}

fn meeting(rng: &mut Rng, p: &Parties) -> Letter {
    let topic = *rng.pick(&[
        "新システム導入",
        "来期予算",
        "販促キャンペーン",
        "保守契約更新",
        "新商品のご提案",
        "業務委託契約",
    ]);
    let subject = match rng.below(3) {
        0 => format!("【ご案内】{topic}のお打ち合わせについて"),
        1 => format!("{} 定例会議のご案内", p.day(rng.between(3, 8))),
        _ => format!("Web会議のご案内（{topic}）"),
    };
    let start = rng.between(9, 16);
    let when = format!(
        "{} {start}:00～{}:{}",
        p.day(rng.between(3, 8)),
        start + rng.between(1, 2),
        rng.pick(&["00", "30"])
    );
    let mut blocks = vec![
        Block::Lines(vec![p.opening()]),
        Block::Lines(vec![format!(
            "{topic}の件につきまして、下記のとおりお打ち合わせをお願いしたく、ご案内申し上げます。"
        )]),
    ];
    match rng.below(3) {
        0 => blocks.push(fields(&[
            ("日時", when),
            ("場所", format!("弊社 会議室（{}）", p.address)),
            ("代表電話", n::landline(rng)),
        ])),
        1 => {
            // Microsoft Teams writes its 12-digit meeting ID as 3-3-3-3.
            let id = chance_my_number(rng, "2");
            blocks.push(fields(&[
                ("日時", when),
                ("場所", "Web会議（Microsoft Teams）".to_string()),
            ]));
            blocks.push(Block::Lines(vec![
                "Microsoft Teams 会議".to_string(),
                format!("会議 ID: {}", n::grouped(&id, &[3, 3, 3, 3], " ")),
                format!("パスコード: {}", rng.pick(&["aB3xYz", "Qm7pK2", "tR9vLs"])),
            ]));
        }
        _ => {
            blocks.push(fields(&[("日時", when), ("場所", "Zoom".to_string())]));
            blocks.push(Block::Lines(vec![
                "Zoom ミーティングに参加する".to_string(),
                format!(
                    "ミーティングID: {} {} {}",
                    rng.between(810, 899),
                    n::digits(rng, 4),
                    n::digits(rng, 4)
                ),
                format!("パスコード: {}", n::digits(rng, 6)),
            ]));
        }
    }
    blocks.push(Block::Lines(vec![
        format!(
            "当日のご連絡は、担当 {}（携帯：{}）までお願いいたします。",
            p.surname(),
            n::mobile(rng)
        ),
        "ご多忙のところ恐縮ですが、ご出席のほどよろしくお願いいたします。".to_string(),
    ]));
    Letter {
        kind: Kind::Meeting,
        subject,
        blocks,
    }
}

fn bare(rng: &mut Rng, p: &Parties) -> Letter {
    if rng.percent(60) {
        // A product list: JAN codes and one 12-digit UPC-A code of an imported product, with
        // no label at all.
        let count = rng.between(3, 8);
        let upc_at = rng.below(count);
        let mut list = Vec::new();
        for i in 0..count {
            let code = if i == upc_at {
                n::upc_a(rng)
            } else {
                n::jan(rng)
            };
            let (name, _) = *rng.pick(&ITEMS);
            list.push(format!("・{code}　{name}　{}個", rng.between(1, 50)));
        }
        let mut body = vec![
            p.opening(),
            String::new(),
            "下記商品の在庫と納期をご確認いただけますでしょうか。".to_string(),
            String::new(),
        ];
        body.extend(list);
        body.push(String::new());
        body.push("お手数ですが、今週中にご回答いただけますと幸いです。".to_string());
        Letter {
            kind: Kind::Bare,
            subject: rng
                .pick(&["在庫確認のお願い", "見積依頼の件", "商品手配の件"])
                .to_string(),
            blocks: vec![Block::Lines(body)],
        }
    } else {
        let number = chance_my_number(rng, "");
        Letter {
            kind: Kind::Bare,
            subject: "先日の件".to_string(),
            blocks: vec![Block::Lines(vec![
                p.opening(),
                String::new(),
                format!(
                    "先日ご連絡いただいた {number} の件ですが、手配が完了しましたのでご報告いたします。"
                ),
                "納品は来週前半を予定しております。".to_string(),
            ])],
        }
    }
}

/// How label/value fields are written in plain text.
#[derive(Clone, Copy, Debug)]
enum FieldStyle {
    FullColon,
    Colon,
    Brackets,
    NextLine,
    Square,
    Dot,
}

/// How tables are written in plain text.
#[derive(Clone, Copy, Debug)]
enum TableStyle {
    Spaced,
    Slashed,
    Stacked,
}

fn render_text(letter: &Letter, fields: FieldStyle, tables: TableStyle, rule: &str) -> String {
    let mut out = String::new();
    for block in &letter.blocks {
        match block {
            Block::Lines(lines) => {
                for line in lines {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Block::Fields(pairs) => {
                out.push_str(rule);
                out.push('\n');
                for (label, value) in pairs {
                    let line = match fields {
                        FieldStyle::FullColon => format!("{label}：{value}"),
                        FieldStyle::Colon => format!("{label}: {value}"),
                        FieldStyle::Brackets => format!("【{label}】{value}"),
                        FieldStyle::NextLine => format!("■{label}\n　{value}"),
                        FieldStyle::Square => format!("[{label}] {value}"),
                        FieldStyle::Dot => format!("・{label}　{value}"),
                    };
                    out.push_str(&line);
                    out.push('\n');
                }
            }
            Block::Table(header, rows) => {
                out.push_str(rule);
                out.push('\n');
                match tables {
                    TableStyle::Spaced | TableStyle::Slashed => {
                        let sep = if matches!(tables, TableStyle::Spaced) {
                            "　"
                        } else {
                            " / "
                        };
                        out.push_str(&header.join(sep));
                        out.push('\n');
                        for row in rows {
                            out.push_str(&row.join(sep));
                            out.push('\n');
                        }
                    }
                    TableStyle::Stacked => {
                        for row in rows {
                            for (label, cell) in header.iter().zip(row) {
                                out.push_str(&format!("{label}：{cell}\n"));
                            }
                            out.push('\n');
                        }
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

fn render_html(letter: &Letter, signature: &str) -> String {
    let e = mime::html_escape;
    let mut body = String::new();
    for block in &letter.blocks {
        match block {
            Block::Lines(lines) => {
                let lines: Vec<String> = lines.iter().map(|l| e(l).replace('\n', "<br>")).collect();
                body.push_str(&format!("<p>{}</p>\n", lines.join("<br>\n")));
            }
            Block::Fields(pairs) => {
                body.push_str("<table style=\"border-collapse:collapse\" cellpadding=\"4\">\n");
                for (label, value) in pairs {
                    body.push_str(&format!(
                        "<tr><th align=\"left\" style=\"background:#eef\">{}</th><td>{}</td></tr>\n",
                        e(label),
                        e(value)
                    ));
                }
                body.push_str("</table>\n");
            }
            Block::Table(header, rows) => {
                body.push_str("<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\">\n<tr>");
                for cell in header {
                    body.push_str(&format!("<th>{}</th>", e(cell)));
                }
                body.push_str("</tr>\n");
                for row in rows {
                    body.push_str("<tr>");
                    for cell in row {
                        body.push_str(&format!("<td>{}</td>", e(cell)));
                    }
                    body.push_str("</tr>\n");
                }
                body.push_str("</table>\n");
            }
        }
    }
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"UTF-8\">\n<title>{}</title>\n</head>\n\
         <body style=\"font-family:'Meiryo',sans-serif\">\n{body}<hr>\n<p>{}</p>\n</body>\n</html>\n",
        e(&letter.subject),
        e(signature).replace('\n', "<br>\n")
    )
}

fn signature(rng: &mut Rng, p: &Parties) -> String {
    let rule = *rng.pick(&[
        "━━━━━━━━━━━━━━━━━━━━━━",
        "--------------------------------------",
        "＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿",
    ]);
    let dept = *rng.pick(&["営業部", "総務部", "経理部", "カスタマーサポート", "業務課"]);
    let main = n::landline(rng);
    format!(
        "{rule}\n{} {dept}\n{}\n〒{} {}\nTEL：{main}　FAX：{}\nMail：info@office.example.jp\nURL：https://www.office.example.jp/\n{rule}",
        p.sender_company,
        p.sender,
        n::postal(rng),
        rng.pick(&ADDRESSES),
        n::landline(rng),
    )
}

/// The body forms and how often each is used (of 100).
const FORMS: [(BodyForm, usize); 8] = [
    (BodyForm::Utf8Bit8, 18),
    (BodyForm::Utf8Base64, 15),
    (BodyForm::Utf8Qp, 8),
    (BodyForm::Iso2022Jp, 25),
    (BodyForm::SjisBase64, 8),
    (BodyForm::Sjis8bit, 6),
    (BodyForm::HtmlAlternative, 14),
    (BodyForm::HtmlOnly, 6),
];

/// The kinds and how often each is written (of 100).
const KINDS: [(Kind, usize); 10] = [
    (Kind::Order, 21),
    (Kind::Invoice, 13),
    (Kind::Quote, 4),
    (Kind::Shipping, 15),
    (Kind::Reservation, 10),
    (Kind::Membership, 8),
    (Kind::Bank, 8),
    (Kind::Customer, 8),
    (Kind::Meeting, 9),
    (Kind::Bare, 4),
];

/// The `index`-th business message of the corpus.
pub fn business_mail(rng: &mut Rng, index: u64) -> Mail {
    let p = Parties::new(rng);
    let kind = rng.weighted(&KINDS);
    let letter = match kind {
        Kind::Order => order(rng, &p),
        Kind::Invoice => invoice(rng, &p, false),
        Kind::Quote => invoice(rng, &p, true),
        Kind::Shipping => shipping(rng, &p),
        Kind::Reservation => reservation(rng, &p),
        Kind::Membership => membership(rng, &p),
        Kind::Bank => bank(rng, &p),
        Kind::Customer => customer(rng, &p),
        Kind::Meeting => meeting(rng, &p),
        Kind::Bare => bare(rng, &p),
    };
    let kind = letter.kind;
    let form = rng.weighted(&FORMS);
    let field_style = *rng.pick(&[
        FieldStyle::FullColon,
        FieldStyle::FullColon,
        FieldStyle::Colon,
        FieldStyle::Brackets,
        FieldStyle::NextLine,
        FieldStyle::Square,
        FieldStyle::Dot,
    ]);
    let table_style = *rng.pick(&[TableStyle::Spaced, TableStyle::Slashed, TableStyle::Stacked]);
    let rule = *rng.pick(&["", "----------------------------------------", "■■■■■■■■■■"]);
    let signature = signature(rng, &p);
    let mut text = format!(
        "{}\n{signature}\n",
        render_text(&letter, field_style, table_style, rule)
    );
    let mut subject = letter.subject.clone();
    let html_form = matches!(form, BodyForm::HtmlAlternative | BodyForm::HtmlOnly);
    if !html_form && rng.percent(15) {
        // A reply that quotes the original.
        let quoted: Vec<String> = text.lines().map(|l| format!("> {l}")).collect();
        text = format!(
            "{} 様\n\nご連絡ありがとうございます。\n内容確認いたしました。引き続きよろしくお願いいたします。\n\n{}\n\n-----Original Message-----\n{}\n",
            p.customer,
            p.surname(),
            quoted.join("\n")
        );
        subject = format!("Re: {subject}");
    }
    let html = if html_form {
        render_html(&letter, &signature)
    } else {
        String::new()
    };
    let envelope = Envelope {
        from_name: format!("{} {}", p.sender_company, p.sender),
        from: "info@office.example.jp".to_string(),
        to: "someone@client.example.com".to_string(),
        subject: subject.clone(),
        id: index,
    };
    let raw = mime::message(&envelope, &text, &html, form);
    Mail {
        kind,
        form,
        raw,
        text: format!("{subject}\n{text}"),
    }
}
